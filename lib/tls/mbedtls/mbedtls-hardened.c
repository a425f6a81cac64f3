/*
 * libwebsockets - mbedTLS: why a TLS read, write or handshake failed
 * (lws-hardened)
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
 * See private-lib-tls-mbedtls-hardened.h.
 */

#include "private-lib-core.h"
#include "private-lib-tls-mbedtls.h"
#include "private-lib-tls-mbedtls-hardened.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define msc_field(x) MBEDTLS_PRIVATE(x)
#else
#define msc_field(x) x
#endif

#if defined(LWS_HARDENED_CONN_CAUSE)
/*
 * The fatal alert record mbedTLS last handled in one direction, if any: its
 * description, else -1.  A record it sent is only readable while no cipher
 * is active (encryption works in place); the handshake's alerts come before.
 */
static int
fatal_alert(const mbedtls_ssl_context *msc, int sent)
{
	const unsigned char *m = sent ? msc->msc_field(out_msg) :
					msc->msc_field(in_msg);

	if ((sent ? msc->msc_field(out_msgtype) : msc->msc_field(in_msgtype)) !=
						MBEDTLS_SSL_MSG_ALERT || !m ||
	    (sent ? msc->msc_field(out_msglen) : msc->msc_field(in_msglen)) < 2 ||
	    (sent && msc->msc_field(transform_out)) ||
	    m[0] != MBEDTLS_SSL_ALERT_LEVEL_FATAL)
		return -1;

	return m[1];
}

/*
 * A peer that fails our handshake sends its alert and closes; mbedTLS
 * writes a flight one record at a time, so our next write may meet the
 * peer's reset (EPIPE) with the alert still unread in the socket.  Peek
 * for it: a plaintext fatal alert record, as sent before any cipher.
 */
static int
pending_fatal_alert(lws_sockfd_type fd)
{
	unsigned char r[7];

	if (recv(fd, (char *)r, sizeof(r), MSG_PEEK | MSG_DONTWAIT) !=
							(ssize_t)sizeof(r) ||
	    r[0] != MBEDTLS_SSL_MSG_ALERT || r[1] != 3 || r[3] || r[4] != 2 ||
	    r[5] != MBEDTLS_SSL_ALERT_LEVEL_FATAL)
		return -1;

	return r[6];
}
#endif

/*
 * The wrapper reduces a failed handshake to -1: the alert record mbedTLS
 * sent or received tells what happened, else errno after a socket failure.
 */
void
lws_tls_handshake_failed(struct lws *wsi, const char *call)
{
#if defined(LWS_HARDENED_CONN_CAUSE)
	lws_hardened_conn_t *h = &wsi->hconn;
	mbedtls_ssl_context *msc;
	int sent = -1, rcvd = -1;

	if (!wsi->tls.ssl || h->tls_call)
		return;

	h->tls_call = call;
	h->ssl_error = SSL_get_error(wsi->tls.ssl, -1);
	/* errno only tells something after a failed socket call */
	if (h->ssl_error == SSL_ERROR_SYSCALL && errno != LWS_EAGAIN &&
	    errno != LWS_EINTR)
		h->sys_errno = errno;

	msc = SSL_mbedtls_ssl_context_from_SSL(wsi->tls.ssl);
	if (msc) {
		rcvd = fatal_alert(msc, 0);
		sent = fatal_alert(msc, 1);
	}
	if (rcvd < 0 && sent < 0 && h->sys_errno)
		rcvd = pending_fatal_alert(wsi->desc.sockfd);
	if (rcvd >= 0 || sent >= 0) {
		h->sys_errno = 0;
		h->alert_sent = rcvd < 0;
		h->alert_seen = (uint16_t)((rcvd >= 0 ? rcvd : sent) + 1);
		lws_hardened_conn_set_cause(wsi, h->alert_sent ?
						 LWSH_CLOSE_ALERT_SENT :
						 LWSH_CLOSE_ALERT_RECEIVED);
		return;
	}
	if (h->sys_errno)
		lws_hardened_conn_io_error(wsi, h->sys_errno);
	else
		lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_TLS_ERROR);
#else
	(void)wsi;
	(void)call;
#endif
}

void
lws_tls_mbedtls_io_failed(struct lws *wsi, int ret)
{
	mbedtls_ssl_context *msc;
	const unsigned char *alert;

	if (!wsi->tls.ssl || lws_hardened_close_cause(wsi) != LWSH_CLOSE_NONE)
		return;

	/* the alert record mbedTLS stopped at, if it stopped at one */
	msc = SSL_mbedtls_ssl_context_from_SSL(wsi->tls.ssl);
	if (!msc || msc->msc_field(in_msgtype) != MBEDTLS_SSL_MSG_ALERT ||
	    msc->msc_field(in_msglen) < 2 || !msc->msc_field(in_msg)) {
		lws_hardened_conn_set_cause(wsi, ret ? LWSH_CLOSE_TLS_ERROR :
						       LWSH_CLOSE_DIRTY_EOF);
		return;
	}

	alert = msc->msc_field(in_msg);
	if (alert[0] == MBEDTLS_SSL_ALERT_LEVEL_WARNING &&
	    alert[1] == MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY) {
		lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_CLEAN);
		return;
	}
#if defined(LWS_HARDENED_CONN_CAUSE)
	wsi->hconn.alert_seen = (uint16_t)(alert[1] + 1);
#endif
	lws_hardened_conn_set_cause(wsi, LWSH_CLOSE_ALERT_RECEIVED);
}
