/*
 * libwebsockets - lws-hardened additions to the public API
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

/** \defgroup hardened lws-hardened
 * ##lws-hardened additions
 *
 * lws-hardened is libwebsockets with a patch set that fixes how TLS failures
 * are handled.  It stays ABI-compatible with the upstream release it is
 * built from: everything declared here is an addition.
 */
///@{

/*
 * Defined when the headers come from lws-hardened, so an application can
 * use the additions conditionally at compile time.  At run time, when the
 * library may have been swapped under the application (drop-in use), look
 * the functions up with dlsym() instead.
 */
#define LWS_HARDENED 1

/**
 * lws_hardened_version() - identify the lws-hardened library in use
 *
 * Returns a static string naming the lws-hardened release and the upstream
 * libwebsockets release it is built on, e.g.
 * "lws-hardened 0.1.0 (libwebsockets 4.3.5)".  Vanilla libwebsockets does not
 * export this symbol.
 *
 * Thread: any.  Backends: all.  Patch: 0001 (lib/core/hardened.c).
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_hardened_version(void);

/*
 * Defined when this header declares the close cause, first-error and
 * counter accessors below (lws-hardened 0.2.0 on).
 */
#define LWS_HARDENED_HAS_CLOSE_CAUSE 1

/**
 * enum lws_hardened_close_cause - why a connection ended
 *
 * Recorded once per connection, at the first failure lws sees (or the
 * peer's close_notify); later failures on the same connection never
 * overwrite it.  LWSH_CLOSE_NONE means nothing failed: the connection is
 * still open, or it was closed locally without an error.
 */
enum lws_hardened_close_cause {
	LWSH_CLOSE_NONE,		/* no failure recorded */
	LWSH_CLOSE_CLEAN,		/* the peer sent a TLS close_notify */
	LWSH_CLOSE_PEER_RESET,		/* the peer reset the TCP connection */
	LWSH_CLOSE_DIRTY_EOF,		/* TCP EOF without a close_notify */
	LWSH_CLOSE_ALERT_RECEIVED,	/* the peer sent a fatal TLS alert */
	LWSH_CLOSE_ALERT_SENT,		/* we sent a fatal TLS alert */
	LWSH_CLOSE_TLS_ERROR,		/* a local TLS error, no alert seen */
	LWSH_CLOSE_IO_ERROR,		/* another socket error */
	LWSH_CLOSE_TIMEOUT,		/* an lws timeout ended it */
	LWSH_CLOSE_DEAD_LINK,		/* the link was judged dead */

	LWSH_CLOSE_COUNT		/* not a cause: the number of causes */
};

/**
 * lws_hardened_close_cause() - why this connection ended, or is ending
 *
 * \param wsi: the connection; valid in any callback that has it, notably
 *	       LWS_CALLBACK_CLOSED, LWS_CALLBACK_CLIENT_CONNECTION_ERROR and
 *	       LWS_CALLBACK_WSI_DESTROY
 *
 * Returns an enum lws_hardened_close_cause.
 *
 * Thread: the one servicing wsi.  Backends: all (mbedTLS through patches
 * 0020 and 0025).  Patches: 0006, 0007 (alerts), 0014 and 0036
 * (timeouts, dead links, hangups).
 */
LWS_VISIBLE LWS_EXTERN int
lws_hardened_close_cause(struct lws *wsi);

/**
 * lws_hardened_close_cause_name() - a short stable name for a close cause
 *
 * \param cause: an enum lws_hardened_close_cause
 *
 * Returns e.g. "clean", "peer-reset", "dirty-eof", "alert-received",
 * "alert-sent", "tls-error", "io-error", "timeout", "dead-link", "none";
 * "unknown" for a value this library does not know.
 *
 * Thread: any.
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_hardened_close_cause_name(int cause);

/**
 * lws_hardened_tls_error() - describe the first TLS error of a connection
 *
 * \param wsi: the connection
 * \param buf: where to write the description
 * \param len: size of buf (the text is always NUL-terminated if len > 0)
 *
 * The description names the call that failed, its SSL_get_error() class
 * and the first error the TLS library queued, then the fatal alert if one
 * was sent or received, e.g. "SSL_accept: SSL_ERROR_SSL: error:0A00010B:SSL
 * routines::wrong version number; alert sent: protocol version" or
 * "SSL_read: SSL_ERROR_SYSCALL: errno 104".  Returns the length written,
 * or 0 (and an empty buf) when the connection has no recorded TLS error
 * (a timeout or a hangup has a close cause but no TLS error).
 *
 * Thread: the one servicing wsi.  Backends: all; on mbedTLS, which has no
 * error queue, the text gives mbedTLS's error class, code, errno and the
 * alert instead.  Patch: 0006.
 */
LWS_VISIBLE LWS_EXTERN int
lws_hardened_tls_error(struct lws *wsi, char *buf, size_t len);

/**
 * lws_hardened_tls_alert() - the TLS alert that ended the connection
 *
 * \param wsi: the connection
 *
 * Returns the alert description (RFC 8446 AlertDescription, e.g. 40 for
 * handshake_failure) received or sent when the close cause is
 * LWSH_CLOSE_ALERT_RECEIVED or LWSH_CLOSE_ALERT_SENT, otherwise -1.
 *
 * Thread: the one servicing wsi.  Backends: all.  Patches: 0007, 0020.
 */
LWS_VISIBLE LWS_EXTERN int
lws_hardened_tls_alert(struct lws *wsi);

/**
 * lws_hardened_abortive_close() - how connections with a dead link close
 *
 * \param context: the lws context
 * \param enable: 1 (the default) or 0
 *
 * When lws finds a connection's link dead or broken (validity ping/pong
 * hangup, an lws timeout, a reset or socket error, a hangup), it frees it at
 * once: no ws close frame, no TLS close_notify, no flush wait, and
 * SO_LINGER {1, 0} right before close(), so the TCP stack drops what it
 * still holds and sends an RST instead of keeping an orphan socket in
 * FIN-WAIT-1 retransmitting unacknowledged data for minutes (on an IoT
 * stack: the memory that runs out after a few reconnects).  Healthy closes
 * and TLS protocol failures (whose alert must reach the peer) stay
 * graceful either way.
 *
 * The trade-off: a peer that was only slow, not gone, sees a reset instead
 * of a close, and any data still queued for it is dropped.  nginx makes the
 * same choice for timed-out connections (reset_timedout_connection).  With
 * enable 0, such connections close the way libwebsockets 4.3.5 closes them.
 *
 * Returns 0, or -1 if this build cannot close abortively.
 *
 * Thread: the one servicing the context, or before its service loop starts.
 * Backends: all (unix tested; the Windows and lwIP helpers are not built
 * here).  Patches: 0014, 0015 (lib/plat/.../...-abortive-close.c).
 */
LWS_VISIBLE LWS_EXTERN int
lws_hardened_abortive_close(struct lws_context *context, int enable);
#define LWS_HARDENED_HAS_ABORTIVE_CLOSE 1

/**
 * enum lws_hardened_counter - events the library counts
 *
 * The error-queue counters are process-wide (OpenSSL's error queue belongs
 * to the thread, not to a context); they stay 0 on TLS backends without an
 * error queue.  The session counters belong to the context (pass it) and
 * count the client session cache of all its vhosts.  New counters are only
 * ever added before LWSH_CTR_COUNT.
 */
enum lws_hardened_counter {
	/* entries found on the queue before an SSL call and discarded: left
	 * there by the application or another library on the thread */
	LWSH_CTR_ERRQ_STALE_DISCARDED,
	/* entries a callback left inside an SSL call, kept from the call */
	LWSH_CTR_ERRQ_ISOLATED,
	/* entries lws drained after a failed call or an lws-internal job */
	LWSH_CTR_ERRQ_DRAINED,

	/* client TLS session cache, per context (lws-hardened 0.3.0 on) */
	/* a cached session was set on a new client connection to offer */
	LWSH_CTR_SESSION_OFFERED,
	/* ...and the server resumed it */
	LWSH_CTR_SESSION_RESUMED,
	/* the TLS library refused a cached session: the connection went on
	 * with a full handshake */
	LWSH_CTR_SESSION_REFUSED,
	/* entries evicted because the TLS library refused them */
	LWSH_CTR_SESSION_EVICTED_REFUSED,
	/* ...because the connection that offered or stored them failed its
	 * handshake */
	LWSH_CTR_SESSION_EVICTED_HANDSHAKE,
	/* ...because the connection that offered or stored them ended in a
	 * fatal alert, a TLS error or a broken link after the handshake */
	LWSH_CTR_SESSION_EVICTED_ERROR,
	/* sessions lws_tls_session_dump_load() refused: evicted earlier, not
	 * resumable, or expired */
	LWSH_CTR_SESSION_LOAD_REFUSED,

	LWSH_CTR_COUNT			/* not a counter: how many there are */
};
/* defined when the LWSH_CTR_SESSION_* counters exist (0.3.0 on) */
#define LWS_HARDENED_HAS_SESSION_COUNTERS 1

/**
 * lws_hardened_counter() - read one of the library's counters
 *
 * \param context: the lws context (may be NULL for process-wide counters)
 * \param which: an enum lws_hardened_counter
 *
 * Returns the count so far, or 0 for a counter this library does not know.
 *
 * Thread: any for the error-queue counters (relaxed atomics); the session
 * counters are plain fields of the context: read them from the thread that
 * services it.  Backends: error-queue counters OpenSSL and wolfSSL (0 on
 * mbedTLS), session counters all.  Patches: 0002, 0003, 0008, 0011, 0013
 * (error queue), 0016, 0018, 0019 (sessions).
 */
LWS_VISIBLE LWS_EXTERN uint64_t
lws_hardened_counter(struct lws_context *context, int which);

/**
 * lws_hardened_counter_name() - a stable name for a counter, for reports
 *
 * \param which: an enum lws_hardened_counter
 *
 * Returns e.g. "errq_stale_discarded", or NULL past the last counter, so
 * a report can list every counter with a loop that stops at NULL.
 *
 * Thread: any.
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_hardened_counter_name(int which);

///@}
