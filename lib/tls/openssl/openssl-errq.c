/*
 * libwebsockets - OpenSSL error-queue discipline (lws-hardened)
 *
 * Copyright (C) 2026 The lws-hardened authors
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to
 * deal in the Software without restriction, including without limitation the
 * rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 * sell copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 * FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 * IN THE SOFTWARE.
 *
 * See private-lib-tls-openssl-errq.h for the rules this module keeps.
 */

#include "private-lib-core.h"
#include "private-lib-tls-openssl.h"

/*
 * Process-wide, like the queue they are about is per thread: read through
 * lws_hardened_counter().  Relaxed atomics: they are statistics.
 */
static uint64_t errq_counters[LWSH_CTR_COUNT];

static void
errq_count(int which, uint64_t n)
{
	__atomic_fetch_add(&errq_counters[which], n, __ATOMIC_RELAXED);
}

uint64_t
lws_tls_errq_counter(int which)
{
	return __atomic_load_n(&errq_counters[which], __ATOMIC_RELAXED);
}

/*
 * Origins already reported at warning level: an application callback that
 * leaves an error does so on every call, and one line per origin is enough
 * to find it.  A lost race here only costs a duplicate log line.
 */
#define ERRQ_ORIGINS 16
static struct {
	char		file[48];	/* OpenSSL 3 frees its copy with the entry */
	int		line;
} errq_origins[ERRQ_ORIGINS];

static int
errq_origin_is_new(const char *file, int line)
{
	size_t fl = strlen(file);
	int n;

	/* the tail of the path is what tells origins apart */
	if (fl >= sizeof(errq_origins[0].file))
		file += fl - (sizeof(errq_origins[0].file) - 1);

	for (n = 0; n < ERRQ_ORIGINS && errq_origins[n].file[0]; n++)
		if (errq_origins[n].line == line &&
		    !strcmp(errq_origins[n].file, file))
			return 0;
	if (n == ERRQ_ORIGINS)
		return 0; /* table full: enough has been said */

	lws_strncpy(errq_origins[n].file, file, sizeof(errq_origins[n].file));
	errq_origins[n].line = line;

	return 1;
}

static unsigned long
errq_peek_newest(const char **file, int *line)
{
	unsigned long e;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LWS_WITH_BORINGSSL)
	e = ERR_peek_last_error_all(file, line, NULL, NULL, NULL);
#else
	e = ERR_peek_last_error_line(file, line);
#endif
	if (!*file)
		*file = "?";

	return e;
}

static unsigned long
errq_get_oldest(const char **file, int *line)
{
	unsigned long e;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LWS_WITH_BORINGSSL)
	e = ERR_get_error_all(file, line, NULL, NULL, NULL);
#else
	e = ERR_get_error_line(file, line);
#endif
	if (!*file)
		*file = "?";

	return e;
}

void
lws_tls_errq_scope_enter(lws_tls_errq_scope_t *s)
{
	lws_tls_errq_mark_set(&s->mark);
	/* after the mark: wolfSSL's lifts what was queued */
	s->top_before = ERR_peek_last_error();
}

void
lws_tls_errq_scope_leave(lws_tls_errq_scope_t *s, struct lws *wsi,
			 const char *what)
{
	const char *file = "?";
	char buf[160];
	unsigned long e;
	int line = 0;

	e = errq_peek_newest(&file, &line);
	if (e && e != s->top_before) {
		errq_count(LWSH_CTR_ERRQ_ISOLATED, 1);
		ERR_error_string_n(e, buf, sizeof(buf));
		if (errq_origin_is_new(file, line))
			lwsl_warn("%s: %s left an OpenSSL error inside an SSL "
				  "call; isolated from the call (%s, from %s:%d;"
				  " %llu so far)\n", wsi ? lws_wsi_tag(wsi) : "-",
				  what, buf, file, line, (unsigned long long)
				  lws_tls_errq_counter(LWSH_CTR_ERRQ_ISOLATED));
	}
	lws_tls_errq_mark_pop(&s->mark);
}

int
lws_tls_errq_drain(struct lws *wsi, const char *where)
{
	const char *file = "?";
	char buf[160];
	unsigned long e;
	int line = 0, n = 0;

	/* bounded: a queue holds at most ERR_NUM_ERRORS entries */
	while (n < 64 && (e = errq_get_oldest(&file, &line))) {
		ERR_error_string_n(e, buf, sizeof(buf));
		lwsl_info("%s: %s: drained %s (%s:%d)\n",
			  wsi ? lws_wsi_tag(wsi) : "-", where, buf, file, line);
		n++;
	}
	ERR_clear_error();
	if (n)
		errq_count(LWSH_CTR_ERRQ_DRAINED, (uint64_t)n);

	return n;
}

void
lws_tls_errq_clear(struct lws *wsi, const char *call)
{
	const char *file = "?";
	char buf[160];
	unsigned long e;
	int line = 0, n = 0, en;

	/*
	 * The common case costs one peek, less than ERR_clear_error(), which
	 * walks every slot: an empty queue has no marks to clear either
	 * (ERR_set_mark() does not mark an empty queue).
	 */
	if (!ERR_peek_error())
		return;

	en = errno; /* callers zero it before the call; logging may not */

	/*
	 * lws drains what its own calls leave, so anything here was left by
	 * the application or another library sharing the thread.  Left in
	 * place, SSL_get_error() would take it for the coming call's own.
	 */
	while (n < 64 && (e = errq_get_oldest(&file, &line))) {
		n++;
		errq_count(LWSH_CTR_ERRQ_STALE_DISCARDED, 1);
		if (!errq_origin_is_new(file, line))
			continue;
		ERR_error_string_n(e, buf, sizeof(buf));
		lwsl_warn("%s: ignoring stale OpenSSL error before %s: %s "
			  "(left at %s:%d; %llu so far)\n",
			  wsi ? lws_wsi_tag(wsi) : "-", call, buf, file, line,
			  (unsigned long long)lws_tls_errq_counter(
					LWSH_CTR_ERRQ_STALE_DISCARDED));
	}
	ERR_clear_error();
	errno = en;
}

#if defined(LWS_HARDENED_CONN_CAUSE)
#if defined(USE_WOLFSSL)
/*
 * wolfSSL tells alerts to the info callback only in some builds, but keeps
 * the last one sent and received: take the fatal one that ended the call
 * (FATAL_ERROR: the peer's), else a fatal one we sent.
 */
static void
errq_wolfssl_note_alert(struct lws *wsi, unsigned long code)
{
	WOLFSSL_ALERT_HISTORY ah;

	if (wsi->hconn.alert_seen ||
	    wolfSSL_get_alert_history(wsi->tls.ssl, &ah) != WOLFSSL_SUCCESS)
		return;

	if (code == (unsigned long)(long)FATAL_ERROR &&
	    ah.last_rx.level == alert_fatal && ah.last_rx.code >= 0) {
		wsi->hconn.alert_seen = (uint16_t)((ah.last_rx.code & 0xff) + 1);
		wsi->hconn.alert_sent = 0;
	} else if (ah.last_tx.level == alert_fatal && ah.last_tx.code >= 0) {
		wsi->hconn.alert_seen = (uint16_t)((ah.last_tx.code & 0xff) + 1);
		wsi->hconn.alert_sent = 1;
	}
}
#endif

static int
errq_cause_of(struct lws *wsi, int ssl_error, int en, unsigned long e)
{
#if defined(USE_WOLFSSL)
	errq_wolfssl_note_alert(wsi, e);
#endif

	switch (ssl_error) {
	case SSL_ERROR_ZERO_RETURN:
		return LWSH_CLOSE_CLEAN;
	case SSL_ERROR_SYSCALL:
		if (en == ECONNRESET || en == EPIPE)
			return LWSH_CLOSE_PEER_RESET;
		return !en && !e ? LWSH_CLOSE_DIRTY_EOF : LWSH_CLOSE_IO_ERROR;
	}

#if defined(SSL_R_UNEXPECTED_EOF_WHILE_READING)
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return LWSH_CLOSE_DIRTY_EOF;
#endif
	if (wsi->hconn.alert_seen)
		return wsi->hconn.alert_sent ? LWSH_CLOSE_ALERT_SENT :
					       LWSH_CLOSE_ALERT_RECEIVED;
	/* a received alert is queued as its reason code, even unseen */
#if defined(SSL_AD_REASON_OFFSET)
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET &&
	    ERR_GET_REASON(e) < SSL_AD_REASON_OFFSET + 256) {
		wsi->hconn.alert_seen = (uint16_t)(ERR_GET_REASON(e) -
						   SSL_AD_REASON_OFFSET + 1);
		return LWSH_CLOSE_ALERT_RECEIVED;
	}
#endif

	return LWSH_CLOSE_TLS_ERROR;
}

/* keep the first failure of the connection: it is the one that explains */
static void
errq_keep_first(struct lws *wsi, int ssl_error, int en, unsigned long e,
		const char *call)
{
	lws_hardened_conn_t *h = &wsi->hconn;
	char buf[192];

	if (h->tls_call)
		return;

	h->tls_call = call;
	h->ssl_error = ssl_error;
	/* wolfSSL leaves errno as it found it: only a socket failure's counts */
	h->sys_errno = ssl_error == SSL_ERROR_SYSCALL ? en : 0;
	h->tls_err = e;
	lws_hardened_conn_set_cause(wsi, errq_cause_of(wsi, ssl_error, en,
							h->tls_err));
	lws_tls_describe_first_error(h, buf, sizeof(buf));
	lwsl_wsi_info(wsi, "first TLS error: %s", buf);
}
#endif

void
lws_tls_handshake_failed(struct lws *wsi, const char *call)
{
#if defined(LWS_HARDENED_CONN_CAUSE)
	/* lws_tls_errq_failed() classified it already, unless lws failed it */
	errq_keep_first(wsi, SSL_ERROR_SSL, 0, ERR_peek_error(), call);
#else
	(void)wsi;
	(void)call;
#endif
}

#if defined(USE_WOLFSSL)
/*
 * wolfSSL_get_error() converts only its WANT and ZERO_RETURN states to
 * OpenSSL's classes: any other failure comes back as wolfSSL's own negative
 * code, which no caller in lws expects (a reset link then reads as "connect
 * unk -308", a dirty EOF as a code nobody handles).  Sort it into the class
 * OpenSSL reports for the same failure.  A protocol failure keeps the code
 * as the error that names it (wolfSSL's ERR_error_string() takes it as it
 * is); for a socket failure errno is the account.
 */
static int
errq_wolfssl_class(int m, unsigned long *e)
{
	if (m >= 0) /* an SSL_ERROR_* class already */
		return m;

	switch (m) {
	case SOCKET_ERROR_E:		/* the socket call failed: see errno */
	case SOCKET_PEER_CLOSED_E:	/* EOF without close_notify */
		*e = 0;
		return SSL_ERROR_SYSCALL;
	}
	*e = (unsigned long)(long)m;

	return SSL_ERROR_SSL;
}
#endif

static int
errq_failed(struct lws *wsi, int ret, const char *call, int keep)
{
	int en = LWS_ERRNO, m;
	unsigned long e;

	if (!wsi->tls.ssl) /* nothing to ask; callers never get here */
		return SSL_ERROR_SSL;

	m = SSL_get_error(wsi->tls.ssl, ret);
	if (m == SSL_ERROR_WANT_READ || m == SSL_ERROR_WANT_WRITE)
		return m;
	e = ERR_peek_error();
#if defined(USE_WOLFSSL)
	m = errq_wolfssl_class(m, &e);
#endif

#if defined(LWS_HARDENED_CONN_CAUSE)
	if (keep)
		errq_keep_first(wsi, m, en, e, call);
#else
	(void)en;
	(void)e;
	(void)keep;
#endif
	lws_tls_errq_drain(wsi, call);

	return m;
}

int
lws_tls_errq_failed(struct lws *wsi, int ret, const char *call)
{
	return errq_failed(wsi, ret, call, 1);
}

int
lws_tls_errq_failed_shutdown(struct lws *wsi, int ret)
{
	/*
	 * The close was decided already, for its own reason: a peer that
	 * resets rather than answer our close_notify does not explain it.
	 */
	return errq_failed(wsi, ret, "SSL_shutdown", 0);
}

#if defined(LWS_HARDENED_CONN_CAUSE)
static const char *
errq_ssl_error_name(int m)
{
	switch (m) {
	case SSL_ERROR_SSL:		return "SSL_ERROR_SSL";
	case SSL_ERROR_SYSCALL:		return "SSL_ERROR_SYSCALL";
	case SSL_ERROR_ZERO_RETURN:	return "SSL_ERROR_ZERO_RETURN";
	case SSL_ERROR_WANT_READ:	return "SSL_ERROR_WANT_READ";
	case SSL_ERROR_WANT_WRITE:	return "SSL_ERROR_WANT_WRITE";
	}

	return NULL;
}

int
lws_tls_describe_first_error(const lws_hardened_conn_t *h, char *buf,
			     size_t len)
{
	char es[128] = "";
	int n;

	/* the call's own account first; an alert, if any, completes it */
	if (errq_ssl_error_name(h->ssl_error))
		n = lws_snprintf(buf, len, "%s: %s", h->tls_call,
				 errq_ssl_error_name(h->ssl_error));
	else
		n = lws_snprintf(buf, len, "%s: unexpected SSL_get_error() "
				 "code %d", h->tls_call, h->ssl_error);
	if (h->tls_err) {
		ERR_error_string_n(h->tls_err, es, sizeof(es));
		n += lws_snprintf(buf + n, len - (size_t)n, ": %s", es);
	}
	if (h->ssl_error == SSL_ERROR_SYSCALL || h->sys_errno)
		n += lws_snprintf(buf + n, len - (size_t)n, ": errno %d",
				  h->sys_errno);
	n += lws_tls_describe_alert(h, buf + n, len - (size_t)n);

	return n;
}
#endif

void
lws_tls_conn_info_cb(const SSL *ssl, int where, int ret)
{
	struct lws *wsi = SSL_get_ex_data(ssl,
					  openssl_websocket_private_data_index);

#if defined(LWS_HARDENED_CONN_CAUSE)
	/* remember the first fatal alert, whichever way it went */
	if (wsi && (where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL &&
	    !wsi->hconn.alert_seen && !wsi->hconn.tls_call) {
		wsi->hconn.alert_seen = (uint16_t)((ret & 0xff) + 1);
		wsi->hconn.alert_sent = !!(where & SSL_CB_WRITE);
	}
#endif

	if (wsi && wsi->a.vhost &&
	    (where & wsi->a.vhost->tls.ssl_info_event_mask))
		lws_ssl_info_callback(ssl, where, ret);
}

void
lws_tls_ctx_set_conn_info_cb(SSL_CTX *ctx)
{
#if defined(USE_WOLFSSL) && !defined(LWS_HAVE_SSL_SET_INFO_CALLBACK)
	/*
	 * wolfSSL has no per-connection SSL_set_info_callback(): an SSL takes
	 * its context's callback when it is made.  lws_tls_conn_info_cb()
	 * finds the connection through the SSL's ex data, so it can serve
	 * every SSL of the context.
	 */
	SSL_CTX_set_info_callback(ctx, lws_tls_conn_info_cb);
#else
	(void)ctx; /* each SSL gets it from SSL_set_info_callback() */
#endif
}

/* as lws_tls_server_conn_alpn() tests it: the feature checks may miss it */
#if OPENSSL_VERSION_NUMBER >= 0x10002000L
void
lws_tls_alpn_selected(SSL *ssl, const unsigned char **name, unsigned int *len)
{
	lws_tls_errq_mark_t m;

	/*
	 * wolfSSL queues an error (-9) when nothing was selected.  The call
	 * follows a handshake that succeeded, so nothing would drain it and
	 * the next connection's SSL_get_error() would read it.  It also
	 * leaves name unset then and stores an uninitialised length in len
	 * (valgrind, a server whose peer offers no ALPN): without a name
	 * nothing was selected.
	 */
	*name = NULL;
	lws_tls_errq_mark_set(&m);
	SSL_get0_alpn_selected(ssl, name, len);
	lws_tls_errq_mark_pop(&m);
	if (!*name)
		*len = 0;
}
#endif

/*
 * Each group below is compiled only when the patch that hooks it in is
 * applied (the patch defines the macro), so any one patch can be dropped
 * and the library still builds without it.
 */
#if defined(LWS_TLS_ERRQ_SCOPED_CALLBACKS)

/* the connection a certificate verification callback runs for */
static struct lws *
errq_wsi_of_store(X509_STORE_CTX *x509_ctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x509_ctx,
				SSL_get_ex_data_X509_STORE_CTX_idx());

	return ssl ? SSL_get_ex_data(ssl, openssl_websocket_private_data_index) :
		     NULL;
}

#if !defined(LWS_WITHOUT_SERVER)
int
lws_tls_errq_server_verify_cb(int preverify_ok, X509_STORE_CTX *x509_ctx)
{
	lws_tls_errq_scope_t s;
	int n;

	lws_tls_errq_scope_enter(&s);
	n = OpenSSL_verify_callback(preverify_ok, x509_ctx);
	lws_tls_errq_scope_leave(&s, errq_wsi_of_store(x509_ctx),
				 "client cert verification callback");

	return n;
}

#if defined(SSL_TLSEXT_ERR_NOACK) && !defined(OPENSSL_NO_TLSEXT)
int
lws_tls_errq_sni_cb(SSL *ssl, int *ad, void *arg)
{
	lws_tls_errq_scope_t s;
	int n;

	lws_tls_errq_scope_enter(&s);
	n = lws_ssl_server_name_cb(ssl, ad, arg);
	lws_tls_errq_scope_leave(&s, SSL_get_ex_data(ssl,
				 openssl_websocket_private_data_index),
				 "SNI callback");

	return n;
}
#endif

#endif /* !LWS_WITHOUT_SERVER */

/* upstream's wolfSSL client sets no verify callback (0031 adds it) */
#if !defined(LWS_WITHOUT_CLIENT) && (!defined(USE_WOLFSSL) || \
				     defined(LWS_TLS_CLIENT_VERIFY_CB_ON_WOLFSSL))
#if defined(USE_WOLFSSL)
/*
 * wolfSSL hands the verify callback OpenSSL's X509_V_ERR code for the
 * certificate failures it maps, but its X509_verify_cert_error_string()
 * names only its own codes: a self-signed server became "unknown error
 * number".  These are the codes wolfSSL 5.5 maps, in OpenSSL's words.
 */
static const char *
errq_wolfssl_x509_error_name(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "certificate signature failure";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate is not yet valid";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate has expired";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "self-signed certificate";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		return "unable to get local issuer certificate";
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked";
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		return "path length constraint exceeded";
	}

	return NULL; /* a wolfSSL code: its own string names it */
}
#endif

int
lws_tls_errq_client_verify_cb(int preverify_ok, X509_STORE_CTX *x509_ctx)
{
	struct lws *wsi = errq_wsi_of_store(x509_ctx);
	lws_tls_errq_scope_t s;
	int n;

	lws_tls_errq_scope_enter(&s);
	n = OpenSSL_client_verify_callback(preverify_ok, x509_ctx);
#if defined(USE_WOLFSSL)
	if (!n && wsi) {
		const char *name = errq_wolfssl_x509_error_name(
					X509_STORE_CTX_get_error(x509_ctx));

		if (name)
			lws_strncpy(wsi->tls.err_helper, name,
				    sizeof(wsi->tls.err_helper));
	}
#endif
	lws_tls_errq_scope_leave(&s, wsi, "server cert verification callback");

	return n;
}
#endif /* !LWS_WITHOUT_CLIENT */

#endif /* LWS_TLS_ERRQ_SCOPED_CALLBACKS */

#if defined(LWS_TLS_ERRQ_SCOPED_SESSION_CB) && defined(LWS_WITH_TLS_SESSIONS)
int
lws_tls_errq_session_new_cb(SSL *ssl, SSL_SESSION *sess)
{
	lws_tls_errq_scope_t s;
	int n;

	lws_tls_errq_scope_enter(&s);
	n = lws_tls_session_new_cb(ssl, sess);
	lws_tls_errq_scope_leave(&s, SSL_get_ex_data(ssl,
				 openssl_websocket_private_data_index),
				 "new-session callback");

	return n;
}
#endif

void
lws_tls_client_close_notify(struct lws *wsi)
{
	SSL *ssl = wsi->tls.ssl;
	int n;

	if (!ssl || SSL_is_server(ssl) || !SSL_is_init_finished(ssl) ||
	    (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) ||
	    !lws_hardened_conn_ended_cleanly(wsi))
		return;

	/*
	 * An SSL freed before it sent a close_notify is taken for a broken
	 * one, and OpenSSL marks its session not resumable: the client
	 * session cache never resumed anything (field notes S1).  One
	 * non-blocking SSL_shutdown() sends ours; the side that closes need
	 * not wait for the peer's (RFC 8446 6.1).  If the socket cannot take
	 * it now, the shutdown is still recorded, which is what keeps the
	 * session resumable.
	 */
	lws_tls_errq_clear(wsi, "SSL_shutdown");
	n = SSL_shutdown(ssl);
	if (n < 0)
		lws_tls_errq_failed_shutdown(wsi, n);
}

#if defined(LWS_TLS_ERRQ_SCOPED_CERTS_LOAD) && !defined(LWS_WITHOUT_SERVER)
int
lws_tls_server_certs_load(struct lws_vhost *vhost, struct lws *wsi,
			  const char *cert, const char *private_key,
			  const char *mem_cert, size_t mem_cert_len,
			  const char *mem_privkey, size_t mem_privkey_len)
{
	lws_tls_errq_scope_t s;
	int n;

	/*
	 * Not a callback, but the same rule: loading probes formats and key
	 * types and leaves entries even when it succeeds; none of them is
	 * the caller's business once the result is returned.
	 */
	lws_tls_errq_scope_enter(&s);
	n = lws_tls_server_certs_load_unscoped(vhost, wsi, cert, private_key,
					       mem_cert, mem_cert_len,
					       mem_privkey, mem_privkey_len);
	if (ERR_peek_last_error() != s.top_before)
		lwsl_info("%s: vhost %s: certificate load %s, dropping the "
			  "OpenSSL entries it left\n", __func__, vhost->name,
			  n ? "failed" : "succeeded");
	lws_tls_errq_mark_pop(&s.mark);

	return n;
}
#endif
