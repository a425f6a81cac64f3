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
 */
LWS_VISIBLE LWS_EXTERN const char *
lws_hardened_version(void);

///@}
