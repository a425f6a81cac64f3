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
 * The OpenSSL-API wrapper reduces every mbedTLS failure to -1 and one error
 * class, so a peer's close_notify, its fatal alert and a local TLS error
 * all reach lws alike.  The record mbedTLS was handling when it failed
 * still tells them apart: the close cause of the connection (and with it
 * whether its cached TLS session may be kept) comes from there.  The same
 * goes for a failed handshake (lws_tls_handshake_failed(), declared with
 * the other hardened core-net hooks).
 */

#if !defined(__LWS_PRIVATE_LIB_TLS_MBEDTLS_HARDENED_H__)
#define __LWS_PRIVATE_LIB_TLS_MBEDTLS_HARDENED_H__

/*
 * A read or write on wsi failed for good (not WANT), returning ret: record
 * its close cause, unless one is recorded already (a socket error found
 * first).  ret 0 is a read that ended the connection without an error: the
 * peer's close_notify (the record says so), else the transport's EOF.
 */
void
lws_tls_mbedtls_io_failed(struct lws *wsi, int ret);

#endif
