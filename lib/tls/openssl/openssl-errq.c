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

/* how many scopes had to drop something, for the log lines */
static unsigned long errq_scoped_callbacks;

/*
 * Origins already reported at warning level: an application callback that
 * leaves an error does so on every call, and one line per origin is enough
 * to find it.  A lost race here only costs a duplicate log line.
 */
#define ERRQ_ORIGINS 16
static struct {
	const char	*file;
	int		line;
} errq_origins[ERRQ_ORIGINS];

static int
errq_origin_is_new(const char *file, int line)
{
	int n;

	for (n = 0; n < ERRQ_ORIGINS && errq_origins[n].file; n++)
		if (errq_origins[n].file == file && errq_origins[n].line == line)
			return 0;
	if (n < ERRQ_ORIGINS) {
		errq_origins[n].file = file;
		errq_origins[n].line = line;
	}

	return 1;
}

static unsigned long
errq_peek_newest(const char **file, int *line)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LWS_WITH_BORINGSSL)
	return ERR_peek_last_error_all(file, line, NULL, NULL, NULL);
#else
	return ERR_peek_last_error_line(file, line);
#endif
}

static unsigned long
errq_get_oldest(const char **file, int *line)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LWS_WITH_BORINGSSL)
	return ERR_get_error_all(file, line, NULL, NULL, NULL);
#else
	return ERR_get_error_line(file, line);
#endif
}

void
lws_tls_errq_scope_enter(lws_tls_errq_scope_t *s)
{
	s->top_before = ERR_peek_last_error();
	/*
	 * On an empty queue no mark is set and the pop below clears the whole
	 * queue, which is exactly "everything pushed since we entered".
	 */
	ERR_set_mark();
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
		errq_scoped_callbacks++;
		ERR_error_string_n(e, buf, sizeof(buf));
		if (errq_origin_is_new(file, line))
			lwsl_warn("%s: %s left an OpenSSL error inside an SSL "
				  "call; isolated from the call (%s, from %s:%d;"
				  " %lu so far)\n", wsi ? lws_wsi_tag(wsi) : "-",
				  what, buf, file, line, errq_scoped_callbacks);
	}
	ERR_pop_to_mark();
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

	return n;
}

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

#if !defined(LWS_WITHOUT_CLIENT)
int
lws_tls_errq_client_verify_cb(int preverify_ok, X509_STORE_CTX *x509_ctx)
{
	lws_tls_errq_scope_t s;
	int n;

	lws_tls_errq_scope_enter(&s);
	n = OpenSSL_client_verify_callback(preverify_ok, x509_ctx);
	lws_tls_errq_scope_leave(&s, errq_wsi_of_store(x509_ctx),
				 "server cert verification callback");

	return n;
}
#endif /* !LWS_WITHOUT_CLIENT */

#endif /* LWS_TLS_ERRQ_SCOPED_CALLBACKS */

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
	ERR_pop_to_mark();

	return n;
}
#endif
