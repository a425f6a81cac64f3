/*
 * libwebsockets - client TLS session cache: eviction, counters (lws-hardened)
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
 * A cached session is only worth keeping while it can still work.  The
 * connection that offered one and then failed its handshake, the one that
 * stored one and then ended in a fatal alert or a TLS or socket error, and
 * the TLS library refusing one, all say it may not: the entry is evicted
 * at once, so the next connection does a full handshake instead of
 * offering it again (field report 2: one poisoned entry failed every later
 * request until the application threw the handle away).  A refusal never
 * fails the connection: it goes on with a full handshake, as curl does
 * since 7.78.
 *
 * The policy lives here; each TLS backend's session cache (openssl-session.c,
 * mbedtls-session.c) calls it from thin hooks.
 */

#if !defined(__LWS_PRIVATE_LIB_TLS_SESSION_HARDENED_H__)
#define __LWS_PRIVATE_LIB_TLS_SESSION_HARDENED_H__

/* in struct lws_lws_tls (wsi->tls.hsess): what the cache did for a client */
typedef struct lws_tls_sess_conn {
	uint64_t		offered_fp;	/* fingerprint of what it offered */
	uint32_t		tag_hash;	/* its cache tag hashed; 0 none */
	uint8_t			offered:1;	/* a cached session was set */
	uint8_t			stored:1;	/* it cached a session itself */
	uint8_t			hs_done:1;	/* its handshake completed */
} lws_tls_sess_conn_t;

/*
 * Fingerprints of evicted sessions, so a copy saved earlier with
 * lws_tls_session_dump_save() is refused by lws_tls_session_dump_load()
 * for the life of the context instead of coming back from storage.
 */
#define LWS_TLS_SESS_EVICTED_KEEP 16

/* in struct lws_context_tls (context->tls.hsess) */
typedef struct lws_tls_sess_cx {
	uint64_t		ctr[LWSH_CTR_COUNT];	/* session counters */
	uint64_t		evicted[LWS_TLS_SESS_EVICTED_KEEP];
	uint8_t			evicted_next;
} lws_tls_sess_cx_t;

struct lws;
struct lws_vhost;
struct lws_context;
struct lws_dll2_owner;

/* the tag's hash as kept in hsess (never 0) */
uint32_t
lws_tls_session_tag_hash(const char *tag);

/*
 * The vhost's cache entry for tag_hash, or NULL.  Both backends' entries
 * start with their lws_dll2 and have the tag right after the struct:
 * entry_size is sizeof() that struct.  vh lock held.
 */
struct lws_dll2 *
__lws_tls_session_find_hashed(struct lws_dll2_owner *owner, uint32_t tag_hash,
			      size_t entry_size);

/*
 * lws_tls_reuse_session() found an entry for tag and asked the TLS library
 * to set it: accepted 0 means refused.  Returns 1 when the caller must
 * destroy the entry (it was refused); the connection goes on regardless.
 */
int
lws_tls_session_offered(struct lws *wsi, const char *tag, int accepted);

/* fingerprint of the session the TLS library accepted for wsi to offer */
void
lws_tls_session_offered_fingerprint(struct lws *wsi, uint64_t fingerprint);

/* the connection put (or replaced) the cache entry for tag */
void
lws_tls_session_stored(struct lws *wsi, const char *tag);

/*
 * The client handshake completed; resumed: it resumed the offered session.
 * Counted as the client sees it: with TLS 1.3 the server may still reject
 * the client's Finished after this.
 */
void
lws_tls_session_handshake_done(struct lws *wsi, int resumed);

/*
 * Right before a connection's SSL is freed.  Unless its client handshake
 * completed and it ends without any failure
 * (lws_hardened_conn_ended_cleanly()), the entry it offered or stored is
 * evicted, and the session it offered is buried even when the entry was
 * replaced meanwhile (wolfSSL stores the failing connection's own session
 * at close).  Returns 1 for that clean end, so a backend captures the
 * session only then.
 */
int
lws_tls_session_conn_end(struct lws *wsi);

/* backend: destroy the vhost's entry for tag_hash; 1 if there was one */
int
lws_tls_session_forget(struct lws_vhost *vh, uint32_t tag_hash);

/* count one session event (enum lws_hardened_counter) on the context */
void
lws_tls_session_count(struct lws_context *cx, int which);

uint64_t
lws_tls_session_counter(struct lws_context *cx, int which);

/*
 * A session fingerprint: 64-bit FNV-1a over non-secret identifiers (session
 * id, ticket), fed in pieces; start with h = 0.
 */
uint64_t
lws_tls_session_fingerprint(uint64_t h, const uint8_t *p, size_t len);

/* remember that the session with this fingerprint was evicted */
void
lws_tls_session_bury(struct lws_context *cx, uint64_t fingerprint);

/* 1 if a session with this fingerprint was evicted */
int
lws_tls_session_is_buried(struct lws_context *cx, uint64_t fingerprint);

#endif
