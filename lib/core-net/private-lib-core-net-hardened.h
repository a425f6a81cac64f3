/*
 * libwebsockets - why a connection ended (lws-hardened)
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
 * Each connection keeps the first thing that went wrong with it: a close
 * cause (enum lws_hardened_close_cause) and, for TLS failures, the call that
 * failed, its SSL_get_error() class, errno and the first error code the TLS
 * library queued.  Later failures on the same connection are consequences
 * and are not kept: the first one is what explains the end.
 */

#if !defined(__LWS_PRIVATE_LIB_CORE_NET_HARDENED_H__)
#define __LWS_PRIVATE_LIB_CORE_NET_HARDENED_H__

/*
 * struct lws carries an lws_hardened_conn_t named hconn when the patch that
 * adds it defines LWS_HARDENED_CONN_CAUSE; without it the functions below
 * still exist and do nothing, so a patch that calls them builds alone.
 */

typedef struct lws_hardened_conn {
	unsigned long		tls_err;	/* first queued error code */
	const char		*tls_call;	/* the call that failed */
	int			ssl_error;	/* its SSL_get_error() class */
	int			sys_errno;	/* errno just after the call */
	uint16_t		alert_seen;	/* first fatal alert, +1; 0 none */
	uint8_t			alert_sent;	/* ...and it was ours */
	uint8_t			cause;		/* lws_hardened_close_cause */
	uint8_t			abortive;	/* link gone: RST, no goodbye */
} lws_hardened_conn_t;

struct lws;

/*
 * Record why wsi ends, unless a cause is already recorded.  Returns 1 if
 * this call recorded it.
 */
int
lws_hardened_conn_set_cause(struct lws *wsi, int cause);

/*
 * 1 if nothing failed on wsi: no close cause but the peer's close_notify,
 * and not abortive.  Without the patch that records causes: always 1.
 */
int
lws_hardened_conn_ended_cleanly(struct lws *wsi);

/* lws saw POLLHUP: the cause from the socket's pending error */
void
lws_hardened_conn_hangup(struct lws *wsi);

/* an lws timeout (pending_timeout reason) fired on wsi */
void
lws_hardened_conn_timeout(struct lws *wsi, int reason);

/*
 * A socket call on wsi failed with errno en (0: no socket error to tell):
 * peer reset for ECONNRESET / EPIPE, io error otherwise.
 */
void
lws_hardened_conn_io_error(struct lws *wsi, int en);

/*
 * Right before wsi's socket fd is closed: an abortive connection (one whose
 * link was found dead or broken) gets SO_LINGER {1, 0}, so the stack drops
 * whatever it still holds and frees the connection at once (RST) instead of
 * keeping an orphan in FIN-WAIT-1 retransmitting into a dead link.
 */
void
lws_hardened_conn_before_close(struct lws *wsi, lws_sockfd_type fd);

/*
 * Platform part (lib/plat/<platform>/<platform>-abortive-close.c): set
 * SO_LINGER {1, 0} on fd.  Returns 0, or -1 if the platform cannot (lwIP
 * without LWIP_SO_LINGER answers ENOPROTOOPT); the caller then just closes.
 * Never a linger > 0: close() would block, or on non-blocking lwIP sockets
 * fail.
 */
int
lws_plat_set_abortive_close(lws_sockfd_type fd);

/*
 * A staged close waits for the peer's close_notify: 1 if the peer has closed
 * or reset its end, so it cannot come (the socket is then marked unusable),
 * 0 if it may still come.
 */
int
lws_hardened_peer_gone(struct lws *wsi);

/*
 * wsi's TLS handshake (call: "SSL_accept" or "SSL_connect") failed: record
 * its first error and close cause, unless the backend's I/O glue did.
 */
void
lws_tls_handshake_failed(struct lws *wsi, const char *call);

/*
 * Write "; alert sent|received: <name>" for the fatal alert h saw, if any,
 * into buf; returns the length written (0 without an alert).  The
 * backends' lws_tls_describe_first_error() end with it.
 */
int
lws_tls_describe_alert(const lws_hardened_conn_t *h, char *buf, size_t len);

/*
 * Write a description of the first TLS error in h into buf (the TLS backend
 * knows how to name its codes).  Returns the length written.
 */
int
lws_tls_describe_first_error(const lws_hardened_conn_t *h, char *buf,
			     size_t len);

#endif
