/*
 * libwebsockets - OpenSSL client session cache helpers (lws-hardened)
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
 * The OpenSSL side of private-lib-tls-session-hardened.h: setting a cached
 * session on a new SSL, telling sessions apart without their secrets, and
 * deciding what lws_tls_session_dump_save() / _load() may let through.
 */

#include "private-lib-core.h"
#include "private-lib-tls-openssl.h"
#include "private-lib-tls-session-hardened.h"

int
lws_tls_openssl_set_session(struct lws *wsi, SSL_SESSION *sess)
{
	int n;

	lws_tls_errq_clear(wsi, "SSL_set_session");
	n = SSL_set_session(wsi->tls.ssl, sess);
	if (!n) /* its reason is logged, then it must not stay queued */
		lws_tls_errq_drain(wsi, "SSL_set_session");
#if defined(LWS_HARDENED_SESSIONS)
	else
		lws_tls_session_offered_fingerprint(wsi,
				lws_tls_openssl_session_fingerprint(sess));
#endif

	return n;
}

uint64_t
lws_tls_openssl_session_fingerprint(const SSL_SESSION *sess)
{
	const unsigned char *p;
	unsigned int len;
	uint64_t h;

	p = SSL_SESSION_get_id(sess, &len);
	h = lws_tls_session_fingerprint(0, p, len);
#if !defined(USE_WOLFSSL)
	{
		const unsigned char *tick;
		size_t tlen;

		SSL_SESSION_get0_ticket(sess, &tick, &tlen);
		h = lws_tls_session_fingerprint(h, tick, tlen);
	}
#endif

	return h ? h : 1;
}

static int
session_expired(SSL_SESSION *sess)
{
	return (uint64_t)time(NULL) >= (uint64_t)SSL_SESSION_get_time(sess) +
				       (uint64_t)SSL_SESSION_get_timeout(sess);
}

int
lws_tls_openssl_session_may_save(SSL_SESSION *sess, const char *tag)
{
	/*
	 * i2d_SSL_SESSION() does not carry OpenSSL's not-resumable flag: a
	 * session saved now would come back from storage resumable again.
	 */
	if (SSL_SESSION_is_resumable(sess) && !session_expired(sess))
		return 1;

	lwsl_notice("%s: %s: session not resumable or expired, not saved\n",
		    __func__, tag);

	return 0;
}

int
lws_tls_openssl_session_may_load(struct lws_context *cx, SSL_SESSION *sess,
				 const char *tag)
{
	const char *why = NULL;

#if defined(LWS_HARDENED_SESSIONS) /* with the patch that evicts */
	if (lws_tls_session_is_buried(cx,
				lws_tls_openssl_session_fingerprint(sess)))
		why = "was evicted";
	else
#endif
	if (!SSL_SESSION_is_resumable(sess))
		why = "is not resumable";
	else if (session_expired(sess))
		why = "has expired";

	if (!why)
		return 1;

	lwsl_notice("%s: %s: refused: the session %s\n", __func__, tag, why);
#if defined(LWS_HARDENED_SESSIONS)
	lws_tls_session_count(cx, LWSH_CTR_SESSION_LOAD_REFUSED);
#endif

	return 0;
}
