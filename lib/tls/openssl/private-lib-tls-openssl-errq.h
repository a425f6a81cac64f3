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
 * OpenSSL keeps one error queue per thread, and one lws thread serves many
 * connections.  Whatever one connection, lws itself or the application leaves
 * on that queue is read by SSL_get_error() after the next SSL call, on
 * whichever connection makes it.  The rules kept here:
 *
 *  - callbacks that run *inside* an SSL call (info, verify, SNI...) are
 *    scoped with ERR_set_mark() / ERR_pop_to_mark(), so what they leave can
 *    never be taken for the in-flight call's own error;
 *  - after a failed call is classified with SSL_get_error(), lws drains the
 *    queue, so it never returns to the event loop or the application with
 *    its own entries queued;
 *  - lws entry points that do non-I/O OpenSSL work (certificate loading)
 *    return with the queue as they found it.
 */

#if !defined(__LWS_PRIVATE_LIB_TLS_OPENSSL_ERRQ_H__)
#define __LWS_PRIVATE_LIB_TLS_OPENSSL_ERRQ_H__

#include "private-lib-tls-openssl-errmark.h"

/*
 * A scope around code that runs inside an SSL call: everything pushed after
 * lws_tls_errq_scope_enter() is dropped by lws_tls_errq_scope_leave(), which
 * logs (once per origin) and counts it.  Scopes must not nest across
 * different connections' calls; they never do, being strictly bracketed.
 */
typedef struct lws_tls_errq_scope {
	unsigned long		top_before;	/* newest entry when entered */
	lws_tls_errq_mark_t	mark;
} lws_tls_errq_scope_t;

void
lws_tls_errq_scope_enter(lws_tls_errq_scope_t *s);
void
lws_tls_errq_scope_leave(lws_tls_errq_scope_t *s, struct lws *wsi,
			 const char *what);

/*
 * Drain the queue after a failed, already classified, SSL call (or any lws
 * path that must not leave entries behind), logging each entry with the
 * connection's tag.  wsi may be NULL.  Returns the number of entries drained.
 */
int
lws_tls_errq_drain(struct lws *wsi, const char *where);

/*
 * In place of ERR_clear_error() before an SSL call: whatever is queued now
 * was left by someone else (lws drains its own), so it is counted and
 * logged, once per origin file:line, as stale, then cleared.
 */
void
lws_tls_errq_clear(struct lws *wsi, const char *call);

/*
 * After an SSL I/O call on wsi returned ret <= 0: classify it with
 * SSL_get_error() while the queue still holds the call's errors, and unless
 * it only wants to be retried (WANT_READ / WANT_WRITE), keep the first
 * failure of the connection (close cause, first error code, errno) and
 * drain the queue.  Returns the SSL_get_error() code.
 */
int
lws_tls_errq_failed(struct lws *wsi, int ret, const char *call);

/* the same for SSL_shutdown(), whose failure is not kept as the first */
int
lws_tls_errq_failed_shutdown(struct lws *wsi, int ret);

/* process-wide counters, enum lws_hardened_counter */
uint64_t
lws_tls_errq_counter(int which);

/*
 * The info callback every SSL of ours gets: notes the first fatal alert for
 * the close cause, then runs lws_ssl_info_callback() for the events the
 * vhost asked for.
 */
void
lws_tls_conn_info_cb(const SSL *ssl, int where, int ret);

/*
 * Where the TLS library has no per-connection info callback (wolfSSL), set
 * lws_tls_conn_info_cb() on the context, before any SSL is made from it.
 */
void
lws_tls_ctx_set_conn_info_cb(SSL_CTX *ctx);

/* SSL_get0_alpn_selected() that leaves the error queue as it found it */
void
lws_tls_alpn_selected(SSL *ssl, const unsigned char **name, unsigned int *len);

/*
 * Declared only when the patch that hooks them in is applied (it defines the
 * macro), so the library builds with any one patch dropped.
 */
#if defined(LWS_TLS_ERRQ_SCOPED_CALLBACKS)
/* our callbacks, registered with OpenSSL through these scoped wrappers */
int
lws_tls_errq_server_verify_cb(int preverify_ok, X509_STORE_CTX *x509_ctx);
int
lws_tls_errq_client_verify_cb(int preverify_ok, X509_STORE_CTX *x509_ctx);
int
lws_tls_errq_sni_cb(SSL *ssl, int *ad, void *arg);

/* the unscoped originals the wrappers call */
int
OpenSSL_verify_callback(int preverify_ok, X509_STORE_CTX *x509_ctx);
int
OpenSSL_client_verify_callback(int preverify_ok, X509_STORE_CTX *x509_ctx);
int
lws_ssl_server_name_cb(SSL *ssl, int *ad, void *arg);
#endif

/* the server certificate verification callback the client registers */
#if defined(LWS_TLS_ERRQ_SCOPED_CALLBACKS)
#define lws_tls_client_verify_cb lws_tls_errq_client_verify_cb
#else
#define lws_tls_client_verify_cb OpenSSL_client_verify_callback
#endif

#if defined(LWS_TLS_ERRQ_SCOPED_SESSION_CB) && defined(LWS_WITH_TLS_SESSIONS)
/* the client's new-session callback, scoped, and the original */
int
lws_tls_errq_session_new_cb(SSL *ssl, SSL_SESSION *sess);
int
lws_tls_session_new_cb(SSL *ssl, SSL_SESSION *sess);
#endif

/*
 * A healthy client connection is closing: send our close_notify (once, not
 * waiting for the peer's), so the TLS end is clean for the peer and OpenSSL
 * keeps the session resumable.  Does nothing for a server SSL, an
 * unfinished handshake or a connection that failed.
 */
void
lws_tls_client_close_notify(struct lws *wsi);

#if defined(LWS_WITH_TLS_SESSIONS)
/*
 * Session cache helpers (openssl-session-hardened.c).
 * SSL_set_session() with the queue cleared before and drained after a
 * refusal; returns what SSL_set_session() returned.
 */
int
lws_tls_openssl_set_session(struct lws *wsi, SSL_SESSION *sess);

/* identifies a session without its secrets (id, ticket); never 0 */
uint64_t
lws_tls_openssl_session_fingerprint(const SSL_SESSION *sess);

/*
 * lws_tls_session_dump_save() / _load(): 1 if the session may leave / come
 * back from storage: resumable, not expired and, for a load, not evicted
 * earlier in this context (counted and logged otherwise).
 */
int
lws_tls_openssl_session_may_save(SSL_SESSION *sess, const char *tag);
int
lws_tls_openssl_session_may_load(struct lws_context *cx, SSL_SESSION *sess,
				 const char *tag);
#endif

#if defined(LWS_TLS_ERRQ_SCOPED_CERTS_LOAD)
/*
 * lws_tls_server_certs_load() for OpenSSL is a scope around the original
 * loader: probing the key type and falling back through formats leaves
 * entries even when loading succeeds.
 */
int
lws_tls_server_certs_load_unscoped(struct lws_vhost *vhost, struct lws *wsi,
				   const char *cert, const char *private_key,
				   const char *mem_cert, size_t mem_cert_len,
				   const char *mem_privkey, size_t mem_privkey_len);
#endif

#endif
