/*
 * libwebsockets - lws-hardened identity
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
 */

#include "private-lib-core.h"
#if defined(LWS_WITH_NETWORK)
/* included by private-lib-core-net.h too, once struct lws carries hconn */
#include "private-lib-core-net-hardened.h"
#endif

/* bumped with every change of the patch set's behaviour or public API */
#define LWS_HARDENED_RELEASE "0.3.1"

const char *
lws_hardened_version(void)
{
	return "lws-hardened " LWS_HARDENED_RELEASE
	       " (libwebsockets " LWS_LIBRARY_VERSION ")";
}

/*
 * The TLS backend's part: the error-queue module of the OpenSSL glue (also
 * used for wolfSSL) counts and formats.  Other backends have no queue.
 */
#if defined(LWS_WITH_NETWORK) && defined(LWS_WITH_TLS) && \
    !defined(LWS_WITH_MBEDTLS) && !defined(LWS_WITH_SCHANNEL)
#define LWSH_TLS_ERRQ 1
uint64_t
lws_tls_errq_counter(int which);
#endif

static const char * const close_cause_names[] = {
	[LWSH_CLOSE_NONE]		= "none",
	[LWSH_CLOSE_CLEAN]		= "clean",
	[LWSH_CLOSE_PEER_RESET]		= "peer-reset",
	[LWSH_CLOSE_DIRTY_EOF]		= "dirty-eof",
	[LWSH_CLOSE_ALERT_RECEIVED]	= "alert-received",
	[LWSH_CLOSE_ALERT_SENT]		= "alert-sent",
	[LWSH_CLOSE_TLS_ERROR]		= "tls-error",
	[LWSH_CLOSE_IO_ERROR]		= "io-error",
	[LWSH_CLOSE_TIMEOUT]		= "timeout",
	[LWSH_CLOSE_DEAD_LINK]		= "dead-link",
};

const char *
lws_hardened_close_cause_name(int cause)
{
	if (cause < 0 || cause >= LWSH_CLOSE_COUNT)
		return "unknown";

	return close_cause_names[cause];
}

static const char * const counter_names[] = {
	[LWSH_CTR_ERRQ_STALE_DISCARDED]	= "errq_stale_discarded",
	[LWSH_CTR_ERRQ_ISOLATED]	= "errq_isolated",
	[LWSH_CTR_ERRQ_DRAINED]		= "errq_drained",
	[LWSH_CTR_SESSION_OFFERED]	= "session_offered",
	[LWSH_CTR_SESSION_RESUMED]	= "session_resumed",
	[LWSH_CTR_SESSION_REFUSED]	= "session_refused",
	[LWSH_CTR_SESSION_EVICTED_REFUSED] = "session_evicted_refused",
	[LWSH_CTR_SESSION_EVICTED_HANDSHAKE] = "session_evicted_handshake",
	[LWSH_CTR_SESSION_EVICTED_ERROR] = "session_evicted_error",
	[LWSH_CTR_SESSION_LOAD_REFUSED]	= "session_load_refused",
};

const char *
lws_hardened_counter_name(int which)
{
	if (which < 0 || which >= LWSH_CTR_COUNT)
		return NULL;

	return counter_names[which];
}

uint64_t
lws_hardened_counter(struct lws_context *context, int which)
{
	(void)context;

	if (which < 0 || which >= LWSH_CTR_COUNT)
		return 0;
#if defined(LWS_HARDENED_SESSIONS)
	if (which >= LWSH_CTR_SESSION_OFFERED)
		return lws_tls_session_counter(context, which);
#endif
#if defined(LWSH_TLS_ERRQ)
	return lws_tls_errq_counter(which);
#else
	return 0;
#endif
}

int
lws_hardened_abortive_close(struct lws_context *context, int enable)
{
#if defined(LWS_WITH_NETWORK) && defined(LWS_HARDENED_ABORTIVE_CLOSE)
	context->hardened_graceful_dead_links = !enable;

	return 0;
#else
	(void)context;
	(void)enable;

	return -1;
#endif
}

#if defined(LWS_WITH_NETWORK) && defined(LWS_HARDENED_CONN_CAUSE)

/*
 * Causes that say the link itself is gone or broken.  A TLS protocol
 * failure is not one: the alert that goes with it must still reach the
 * peer (an RST overtakes it), and a dirty EOF comes with the peer's FIN.
 */
static int
cause_is_dead_link(int cause)
{
	return cause == LWSH_CLOSE_PEER_RESET || cause == LWSH_CLOSE_IO_ERROR ||
	       cause == LWSH_CLOSE_TIMEOUT || cause == LWSH_CLOSE_DEAD_LINK;
}

int
lws_hardened_conn_set_cause(struct lws *wsi, int cause)
{
#if defined(LWS_HARDENED_ABORTIVE_CLOSE)
	/*
	 * Even when it is not the first cause: whatever came first, nothing
	 * more can be delivered now.  So no ws close, no TLS close_notify, no
	 * flushing: nothing more is written into the dead link.
	 */
	if (cause_is_dead_link(cause) &&
	    !wsi->a.context->hardened_graceful_dead_links) {
		wsi->hconn.abortive = 1;
		wsi->socket_is_permanently_unusable = 1;
	}
#else
	(void)cause_is_dead_link;
#endif

	if (wsi->hconn.cause != LWSH_CLOSE_NONE)
		return 0;

	wsi->hconn.cause = (uint8_t)cause;
	lwsl_wsi_info(wsi, "ends: %s", lws_hardened_close_cause_name(cause));

	return 1;
}

void
lws_hardened_conn_io_error(struct lws *wsi, int en)
{
	if (en == LWS_EAGAIN || en == LWS_EWOULDBLOCK || en == LWS_EINTR)
		return;
	if (en == ECONNRESET || en == EPIPE)
		lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_PEER_RESET);
	else if (en) {
		if (wsi->hconn.cause == LWSH_CLOSE_NONE)
			wsi->hconn.sys_errno = en;
		lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_IO_ERROR);
	}
}

void
lws_hardened_conn_before_close(struct lws *wsi, lws_sockfd_type fd)
{
#if defined(LWS_HARDENED_ABORTIVE_CLOSE)
	if (!wsi->hconn.abortive)
		return;

	if (lws_plat_set_abortive_close(fd))
		lwsl_wsi_info(wsi, "abortive close not available, closing");
	else
		lwsl_wsi_info(wsi, "abortive close (%s)",
			      lws_hardened_close_cause_name(wsi->hconn.cause));
#else
	(void)wsi;
	(void)fd;
#endif
}

void
lws_hardened_conn_hangup(struct lws *wsi)
{
	socklen_t sl = sizeof(int);
	int e = 0;

	if (wsi->hconn.cause != LWSH_CLOSE_NONE)
		return;

	/* the socket is being closed: consuming its pending error is fine */
	if (getsockopt(wsi->desc.sockfd, SOL_SOCKET, SO_ERROR, (char *)&e, &sl))
		e = LWS_ERRNO;
	wsi->hconn.sys_errno = e;
	if (e == ECONNRESET || e == EPIPE)
		lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_PEER_RESET);
	else
		/* no error: the peer went away without closing (TLS) first */
		lws_hardened_conn_set_cause(wsi, e ? LWSH_CLOSE_IO_ERROR :
						     LWSH_CLOSE_DIRTY_EOF);
}

void
lws_hardened_conn_timeout(struct lws *wsi, int reason)
{
	/*
	 * Idle keep-alive ends and timeouts the application set for its own
	 * purposes are how those connections are meant to end.
	 */
	if (reason == PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE ||
	    reason == PENDING_TIMEOUT_USER_OK ||
	    reason == PENDING_TIMEOUT_KILLED_BY_SSL_INFO ||
	    reason >= PENDING_TIMEOUT_USER_REASON_BASE)
		return;

	lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_TIMEOUT);
}

/*
 * TLS alert descriptions (RFC 5246 7.2, RFC 8446 6.2), one list for every
 * backend: OpenSSL 3.0's own names stop before the TLS 1.3 alerts
 */
static const char *
alert_name(int desc)
{
	static const struct { uint8_t desc; const char *name; } names[] = {
		{ 0, "close notify" }, { 10, "unexpected message" },
		{ 20, "bad record mac" }, { 21, "decryption failed" },
		{ 22, "record overflow" }, { 30, "decompression failure" },
		{ 40, "handshake failure" }, { 41, "no certificate" },
		{ 42, "bad certificate" }, { 43, "unsupported certificate" },
		{ 44, "certificate revoked" }, { 45, "certificate expired" },
		{ 46, "certificate unknown" }, { 47, "illegal parameter" },
		{ 48, "unknown CA" }, { 49, "access denied" },
		{ 50, "decode error" }, { 51, "decrypt error" },
		{ 60, "export restriction" }, { 70, "protocol version" },
		{ 71, "insufficient security" }, { 80, "internal error" },
		{ 86, "inappropriate fallback" }, { 90, "user canceled" },
		{ 100, "no renegotiation" }, { 109, "missing extension" },
		{ 110, "unsupported extension" },
		{ 111, "certificate unobtainable" },
		{ 112, "unrecognized name" },
		{ 113, "bad certificate status response" },
		{ 114, "bad certificate hash value" },
		{ 115, "unknown PSK identity" }, { 116, "certificate required" },
		{ 120, "no application protocol" },
	};
	size_t n;

	for (n = 0; n < LWS_ARRAY_SIZE(names); n++)
		if (names[n].desc == desc)
			return names[n].name;

	return "unknown";
}

int
lws_tls_describe_alert(const lws_hardened_conn_t *h, char *buf, size_t len)
{
	if (!h->alert_seen)
		return 0;

	return lws_snprintf(buf, len, "; alert %s: %s",
			    h->alert_sent ? "sent" : "received",
			    alert_name((h->alert_seen - 1) & 0xff));
}

#if !defined(LWSH_TLS_ERRQ)
/*
 * A backend without an error queue names the call, its error class, errno
 * after a socket failure and the fatal alert, if one was seen
 */
int
lws_tls_describe_first_error(const lws_hardened_conn_t *h, char *buf,
			     size_t len)
{
	int n = lws_snprintf(buf, len, "%s: error class %d", h->tls_call,
			     h->ssl_error);

	if (h->tls_err)
		n += lws_snprintf(buf + n, len - (size_t)n, " (code %lu)",
				  h->tls_err);
	if (h->sys_errno)
		n += lws_snprintf(buf + n, len - (size_t)n, ": errno %d",
				  h->sys_errno);
	n += lws_tls_describe_alert(h, buf + n, len - (size_t)n);

	return n;
}
#endif

int
lws_hardened_close_cause(struct lws *wsi)
{
	return wsi ? wsi->hconn.cause : LWSH_CLOSE_NONE;
}

int
lws_hardened_conn_ended_cleanly(struct lws *wsi)
{
	return !wsi->hconn.abortive && (wsi->hconn.cause == LWSH_CLOSE_NONE ||
					wsi->hconn.cause == LWSH_CLOSE_CLEAN);
}

int
lws_hardened_tls_alert(struct lws *wsi)
{
	if (!wsi || (wsi->hconn.cause != LWSH_CLOSE_ALERT_RECEIVED &&
		     wsi->hconn.cause != LWSH_CLOSE_ALERT_SENT) ||
	    !wsi->hconn.alert_seen)
		return -1;

	return wsi->hconn.alert_seen - 1;
}

int
lws_hardened_tls_error(struct lws *wsi, char *buf, size_t len)
{
	if (!len)
		return 0;
	buf[0] = '\0';
	if (!wsi || !wsi->hconn.tls_call)
		return 0;

	return lws_tls_describe_first_error(&wsi->hconn, buf, len);
}

#else /* the patch that records causes is not applied */

#if defined(LWS_WITH_NETWORK)
int
lws_hardened_conn_set_cause(struct lws *wsi, int cause)
{
	(void)wsi;
	(void)cause;

	return 0;
}

int
lws_hardened_conn_ended_cleanly(struct lws *wsi)
{
	(void)wsi;

	return 1; /* nothing recorded to say otherwise */
}

void
lws_hardened_conn_hangup(struct lws *wsi)
{
	(void)wsi;
}

void
lws_hardened_conn_timeout(struct lws *wsi, int reason)
{
	(void)wsi;
	(void)reason;
}

void
lws_hardened_conn_io_error(struct lws *wsi, int en)
{
	(void)wsi;
	(void)en;
}

void
lws_hardened_conn_before_close(struct lws *wsi, lws_sockfd_type fd)
{
	(void)wsi;
	(void)fd;
}
#endif

int
lws_hardened_close_cause(struct lws *wsi)
{
	(void)wsi;

	return LWSH_CLOSE_NONE;
}

int
lws_hardened_tls_alert(struct lws *wsi)
{
	(void)wsi;

	return -1;
}

int
lws_hardened_tls_error(struct lws *wsi, char *buf, size_t len)
{
	(void)wsi;
	if (len)
		buf[0] = '\0';

	return 0;
}

#endif

#if defined(LWS_WITH_NETWORK)
/*
 * A staged close has sent our close_notify and waits for the peer's.  A peer
 * that has closed or reset its end will never send it, and wolfSSL's
 * SSL_shutdown() does not say so: it answers "not done" again on every
 * POLLIN of the dead socket, so lws spun on it until timeout_secs, holding
 * the connection.  Peek without consuming: EOF or a socket error means the
 * peer is gone; data or nothing yet means its close_notify may still come.
 */
int
lws_hardened_peer_gone(struct lws *wsi)
{
#if !defined(WIN32) && !defined(_WIN32)
	char c;
	ssize_t n;
	int en = errno;

	if (!lws_socket_is_valid(wsi->desc.sockfd))
		return 1;

	n = recv(wsi->desc.sockfd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (LWS_ERRNO == LWS_EAGAIN ||
				LWS_ERRNO == LWS_EWOULDBLOCK ||
				LWS_ERRNO == LWS_EINTR))) {
		errno = en;
		return 0;
	}
	errno = en;
	wsi->socket_is_permanently_unusable = 1;

	return 1;
#else
	(void)wsi;

	return 0; /* no MSG_DONTWAIT: the timeout ends it, as before */
#endif
}
#endif
