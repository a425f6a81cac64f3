/*
 * libwebsockets - error-queue marks on OpenSSL and wolfSSL (lws-hardened)
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
 * A mark on the thread's error queue: lws_tls_errq_mark_pop() drops every
 * entry pushed after lws_tls_errq_mark_set() and keeps those that were
 * there before.  OpenSSL has this as ERR_set_mark() / ERR_pop_to_mark().
 * wolfSSL 5.5 has neither, so there the entries found at the mark are
 * lifted off the queue and put back, in order, at the pop.  That costs one
 * peek in the usual case: the mark is set right after a clear-before-call,
 * on an empty queue.
 */

#if !defined(__LWS_PRIVATE_LIB_TLS_OPENSSL_ERRMARK_H__)
#define __LWS_PRIVATE_LIB_TLS_OPENSSL_ERRMARK_H__

#if defined(USE_WOLFSSL)

/* as many entries as an OpenSSL queue holds (ERR_NUM_ERRORS) */
#define LWS_TLS_ERRQ_MARK_MAX 16

typedef struct lws_tls_errq_mark {
	unsigned long	e[LWS_TLS_ERRQ_MARK_MAX];
	/* wolfSSL frees an entry's file name with the entry: keep a copy */
	char		file[LWS_TLS_ERRQ_MARK_MAX][32];
	int		line[LWS_TLS_ERRQ_MARK_MAX];
	int		count;
} lws_tls_errq_mark_t;

static LWS_INLINE void
lws_tls_errq_mark_set(lws_tls_errq_mark_t *m)
{
	const char *file;
	unsigned long e;
	int line, n;

	m->count = 0;
	/* bounded: wolfSSL's queue is, but a loop here must not trust it */
	for (n = 0; n < 4 * LWS_TLS_ERRQ_MARK_MAX && ERR_peek_last_error(); n++) {
		file = NULL;
		line = 0;
		e = ERR_get_error_line(&file, &line);
		if (!e)
			break;
		if (m->count == LWS_TLS_ERRQ_MARK_MAX)
			continue; /* OpenSSL's queue would have lost it too */
		m->e[m->count] = e;
		lws_strncpy(m->file[m->count], file ? file : "?",
			    sizeof(m->file[0]));
		m->line[m->count++] = line;
	}
}

static LWS_INLINE void
lws_tls_errq_mark_pop(lws_tls_errq_mark_t *m)
{
	int n;

	ERR_clear_error();
	/* wolfSSL hands out the absolute value of the code it was given */
	for (n = 0; n < m->count; n++)
		ERR_put_error(0, 0, -(int)m->e[n], m->file[n], m->line[n]);
}

#else

typedef struct lws_tls_errq_mark {
	char		unused;
} lws_tls_errq_mark_t;

/* on an empty queue no mark is set and the pop clears the whole queue */
#define lws_tls_errq_mark_set(m) ((void)(m), ERR_set_mark())
#define lws_tls_errq_mark_pop(m) ((void)(m), ERR_pop_to_mark())

#endif

#endif
