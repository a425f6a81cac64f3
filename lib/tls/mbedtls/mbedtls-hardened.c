/*
 * libwebsockets - mbedTLS: why a TLS read or write failed (lws-hardened)
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
