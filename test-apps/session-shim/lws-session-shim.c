/*
 * lws-session-shim: LD_PRELOAD fault injection for the client TLS session
 * cache (field notes S2, field report 2): the TLS library refuses a cached
 * session.
 *
 * Wraps the call lws uses to put a cached session on a new client
 * connection: SSL_set_session() (OpenSSL build), wolfSSL_set_session()
 * (wolfSSL build, what lws's SSL_set_session() is there) or
 * mbedtls_ssl_set_session() (mbedTLS build).  The Nth call is refused, as
 * the library refuses a session it cannot use, and so is every later call
 * that offers the SAME session again (it could only be refused again):
 * OpenSSL gets 0 and one queued error (SSL_R_SSL_SESSION_VERSION_MISMATCH),
 * wolfSSL 0 (WOLFSSL_FAILURE, nothing queued, as wolfSSL 5.5 refuses a
 * session from an unfinished handshake), mbedTLS
 * MBEDTLS_ERR_SSL_BAD_INPUT_DATA.  A session is recognised by a hash of its
 * session id and ticket (wolfSSL: id and master secret), never by its
 * address.
 *
 * Environment:
 *   LWS_SESSION_SHIM_REFUSE=N   refuse the Nth call (1-based; required: a
 *                               missing or bad value is an error, exit 3 at
 *                               load, never a silent no-op)
 *   LWS_SESSION_SHIM_REPORT=FILE also write the exit summary to FILE
 *
 * At exit one line of JSON goes to stderr (and FILE):
 *   {"lws_session_shim":{"pid":P,"refuse_call":N,"calls":C,"refused":R,
 *    "reoffered":O}}
 * reoffered counts calls that offered a session refused before: a cache
 * that evicts a refused session never does that.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/th-shim.h"

#if defined(TH_TLS_BACKEND_wolfssl)
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#elif defined(TH_TLS_BACKEND_mbedtls)
#include <mbedtls/ssl.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SESS_FIELD(x) MBEDTLS_PRIVATE(x)
#else
#define SESS_FIELD(x) x
#endif
#else
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define MAX_REFUSED 16

static struct {
	unsigned long	refuse_call, calls, refused, reoffered;
	uint64_t	refused_ids[MAX_REFUSED];
	int		n_refused_ids;
	const char	*report;
	void		*real;
} shim;

static uint64_t
fnv(uint64_t h, const unsigned char *p, size_t len)
{
	while (len--)
		h = (h ^ *p++) * 1099511628211ull;

	return h;
}

static __attribute__((constructor)) void
shim_init(void)
{
	shim.refuse_call = th_shim_env_count("lws-session-shim",
					     "LWS_SESSION_SHIM_REFUSE",
					     "a call number");
	shim.report = getenv("LWS_SESSION_SHIM_REPORT");
}

static __attribute__((destructor)) void
shim_fini(void)
{
	char line[256];

	snprintf(line, sizeof(line), "{\"lws_session_shim\":{\"pid\":%d,"
		 "\"refuse_call\":%lu,\"calls\":%lu,\"refused\":%lu,"
		 "\"reoffered\":%lu}}\n", (int)getpid(), shim.refuse_call,
		 shim.calls, shim.refused, shim.reoffered);
	th_shim_report("lws-session-shim", line, shim.report);
}

/* 1 if this call must be refused; counts what it sees */
static int
shim_decide(uint64_t id)
{
	int n, seen = 0;

	shim.calls++;
	for (n = 0; n < shim.n_refused_ids; n++)
		if (shim.refused_ids[n] == id)
			seen = 1;
	if (seen) {
		shim.reoffered++;
		fprintf(stderr, "lws-session-shim: call %lu offers a session "
			"refused before: refused again\n", shim.calls);
	} else if (shim.calls != shim.refuse_call)
		return 0;
	else if (shim.n_refused_ids < MAX_REFUSED)
		shim.refused_ids[shim.n_refused_ids++] = id;

	shim.refused++;

	return 1;
}

static void *
shim_real(const char *name)
{
	if (!shim.real && !(shim.real = dlsym(RTLD_NEXT, name))) {
		fprintf(stderr, "lws-session-shim: no %s to wrap\n", name);
		_exit(3);
	}

	return shim.real;
}

#if defined(TH_TLS_BACKEND_wolfssl)

int
wolfSSL_set_session(WOLFSSL *s, WOLFSSL_SESSION *session)
{
	int (*real)(WOLFSSL *, WOLFSSL_SESSION *) =
		(int (*)(WOLFSSL *, WOLFSSL_SESSION *))
			shim_real("wolfSSL_set_session");
	uint64_t id = 14695981039346656037ull;
	unsigned char secret[64];
	const unsigned char *p;
	unsigned int len = 0;
	int n;

	if (session) {
		p = wolfSSL_SESSION_get_id(session, &len);
		if (p)
			id = fnv(id, p, len);
		n = wolfSSL_SESSION_get_master_key(session, secret,
						   (int)sizeof(secret));
		if (n > 0)
			id = fnv(id, secret, (size_t)n);
		if (shim_decide(id))
			return WOLFSSL_FAILURE;
	}

	return real(s, session);
}

#elif defined(TH_TLS_BACKEND_mbedtls)

int
mbedtls_ssl_set_session(mbedtls_ssl_context *ssl,
			const mbedtls_ssl_session *session)
{
	int (*real)(mbedtls_ssl_context *, const mbedtls_ssl_session *) =
		(int (*)(mbedtls_ssl_context *, const mbedtls_ssl_session *))
			shim_real("mbedtls_ssl_set_session");
	uint64_t id = 14695981039346656037ull;

	if (session) {
		id = fnv(id, session->SESS_FIELD(id),
			 session->SESS_FIELD(id_len));
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
		if (session->SESS_FIELD(ticket))
			id = fnv(id, session->SESS_FIELD(ticket),
				 session->SESS_FIELD(ticket_len));
#endif
		if (shim_decide(id))
			return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	}

	return real(ssl, session);
}

#else

int
SSL_set_session(SSL *s, SSL_SESSION *session)
{
	int (*real)(SSL *, SSL_SESSION *) =
		(int (*)(SSL *, SSL_SESSION *))shim_real("SSL_set_session");
	uint64_t id = 14695981039346656037ull;
	const unsigned char *p;
	unsigned int len;
	size_t tlen;

	if (session) {
		p = SSL_SESSION_get_id(session, &len);
		id = fnv(id, p, len);
		SSL_SESSION_get0_ticket(session, &p, &tlen);
		id = fnv(id, p, tlen);
		if (shim_decide(id)) {
			/* as OpenSSL does when it refuses one */
			ERR_raise(ERR_LIB_SSL, SSL_R_SSL_SESSION_VERSION_MISMATCH);
			return 0;
		}
	}

	return real(s, session);
}

#endif
