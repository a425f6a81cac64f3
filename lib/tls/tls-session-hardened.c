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
 * See private-lib-tls-session-hardened.h.  Backend-independent: the OpenSSL
 * and mbedTLS session caches call these from their hooks.  Built whenever
 * the session cache is; what needs the state the session patch adds to the
 * TLS structs is compiled only when that patch is applied (it defines
 * LWS_HARDENED_SESSIONS), so the library builds without it.
 */

#include "private-lib-core.h"
#include "private-lib-tls-session-hardened.h"

uint32_t
lws_tls_session_tag_hash(const char *tag)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*tag)
		h = (h ^ (uint8_t)*tag++) * 16777619u;

	return h ? h : 1;
}

uint64_t
lws_tls_session_fingerprint(uint64_t h, const uint8_t *p, size_t len)
{
	if (!h)
		h = 14695981039346656037ull;

	while (len--)
		h = (h ^ *p++) * 1099511628211ull;

	return h;
}

#if defined(LWS_HARDENED_SESSIONS)

#define SESS_CTR(cx, w)		((cx)->tls.hsess.ctr[w])

struct lws_dll2 *
__lws_tls_session_find_hashed(struct lws_dll2_owner *owner, uint32_t tag_hash,
			      size_t entry_size)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(owner)) {
		/* the entry's lws_dll2 is its first member: d is the entry */
		if (lws_tls_session_tag_hash((const char *)d + entry_size) ==
								tag_hash)
			return d;
	} lws_end_foreach_dll(d);

	return NULL;
}

void
lws_tls_session_count(struct lws_context *cx, int which)
{
	if (which >= 0 && which < LWSH_CTR_COUNT)
		SESS_CTR(cx, which)++;
}

uint64_t
lws_tls_session_counter(struct lws_context *cx, int which)
{
	if (!cx || which < LWSH_CTR_SESSION_OFFERED || which >= LWSH_CTR_COUNT)
		return 0;

	return SESS_CTR(cx, which);
}

void
lws_tls_session_bury(struct lws_context *cx, uint64_t fingerprint)
{
	lws_tls_sess_cx_t *c = &cx->tls.hsess;

	if (lws_tls_session_is_buried(cx, fingerprint))
		return;

	c->evicted[c->evicted_next] = fingerprint;
	c->evicted_next = (uint8_t)((c->evicted_next + 1) %
				    LWS_TLS_SESS_EVICTED_KEEP);
}

int
lws_tls_session_is_buried(struct lws_context *cx, uint64_t fingerprint)
{
	int n;

	for (n = 0; n < LWS_TLS_SESS_EVICTED_KEEP; n++)
		if (fingerprint && cx->tls.hsess.evicted[n] == fingerprint)
			return 1;

	return 0;
}

int
lws_tls_session_offered(struct lws *wsi, const char *tag, int accepted)
{
	lws_tls_sess_conn_t *hs = &wsi->tls.hsess;

	hs->tag_hash = lws_tls_session_tag_hash(tag);
	if (accepted) {
		hs->offered = 1;
		lws_tls_session_count(wsi->a.context, LWSH_CTR_SESSION_OFFERED);

		return 0;
	}

	/*
	 * Offering it again could only be refused again: drop it now.  The
	 * connection itself is fine, it just does a full handshake.
	 */
	lwsl_wsi_warn(wsi, "TLS library refused the cached session for %s: "
			   "evicted, going on with a full handshake", tag);
	lws_tls_session_count(wsi->a.context, LWSH_CTR_SESSION_REFUSED);
	lws_tls_session_count(wsi->a.context, LWSH_CTR_SESSION_EVICTED_REFUSED);

	return 1;
}

void
lws_tls_session_offered_fingerprint(struct lws *wsi, uint64_t fingerprint)
{
	wsi->tls.hsess.offered_fp = fingerprint;
}

void
lws_tls_session_stored(struct lws *wsi, const char *tag)
{
	wsi->tls.hsess.tag_hash = lws_tls_session_tag_hash(tag);
	wsi->tls.hsess.stored = 1;
}

void
lws_tls_session_handshake_done(struct lws *wsi, int resumed)
{
	/*
	 * Kept here: after a fatal alert OpenSSL's SSL_is_init_finished()
	 * is false again, though the handshake had completed.
	 */
	wsi->tls.hsess.hs_done = 1;
	if (!wsi->tls.hsess.offered)
		return;

	if (resumed)
		lws_tls_session_count(wsi->a.context, LWSH_CTR_SESSION_RESUMED);
	else
		lwsl_wsi_info(wsi, "server did not resume the offered session");
}

int
lws_tls_session_conn_end(struct lws *wsi)
{
	lws_tls_sess_conn_t *hs = &wsi->tls.hsess;
	struct lws_vhost *vh = wsi->a.vhost;
	int clean = hs->hs_done && lws_hardened_conn_ended_cleanly(wsi);

	/*
	 * Whether the session itself is at fault cannot be told from here (a
	 * flaky link, a server that forgot it, a poisoned entry): a full
	 * handshake costs one round trip more, offering a bad session again
	 * costs the next connection.
	 */
	if (!clean && vh && (hs->offered || hs->stored)) {
		lws_context_lock(vh->context, __func__); /* -------- cx { */
		lws_vhost_lock(vh); /* -------------- vh { */
		/*
		 * Its entry may hold a newer session by now, so a saved copy
		 * of the one it offered must be refused on its own account.
		 */
		if (hs->offered_fp)
			lws_tls_session_bury(vh->context, hs->offered_fp);
		if (lws_tls_session_forget(vh, hs->tag_hash)) {
			lws_tls_session_count(vh->context, hs->hs_done ?
					LWSH_CTR_SESSION_EVICTED_ERROR :
					LWSH_CTR_SESSION_EVICTED_HANDSHAKE);
			lwsl_wsi_info(wsi, "evicted the cached session: the "
					   "connection %s", hs->hs_done ?
					   "ended in an error" :
					   "failed its handshake");
		}
		lws_vhost_unlock(vh); /* } vh --------------  */
		lws_context_unlock(vh->context); /* } cx --------------  */
	}

	/* the SSL goes: a wsi that connects again starts afresh */
	memset(hs, 0, sizeof(*hs));

	return clean;
}

#endif /* LWS_HARDENED_SESSIONS */
