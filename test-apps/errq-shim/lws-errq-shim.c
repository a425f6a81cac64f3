/*
 * lws-errq-shim: LD_PRELOAD fault injection for the OpenSSL error queue (Q1).
 *
 * Wraps a few public OpenSSL functions that libwebsockets calls from inside
 * callbacks OpenSSL runs in the middle of an SSL call (SSL_accept, SSL_read,
 * SSL_connect...).  Each wrapper calls the real function (dlsym(RTLD_NEXT))
 * and then, when enabled, pushes ONE error entry on the thread's queue:
 *
 *     ERR_LIB_USER, reason LWS_ERRQ_SHIM_REASON (0x5145, "QE"),
 *     data "lws-errq-shim: <function>"
 *
 * as a provider, an engine or a user hook would that leaves an error behind.
 * lws must not let that entry reach the SSL_get_error() of the in-flight call
 * (ERR_set_mark / ERR_pop_to_mark around the callback).
 *
 * Environment:
 *   LWS_ERRQ_SHIM=F1,F2...    functions to inject after (required; an unknown
 *                             or empty list is an error: message on stderr,
 *                             exit 3 at load, never a silent no-op)
 *   LWS_ERRQ_SHIM_EVERY=N     inject on every Nth call of each function
 *                             (default 1 = every call)
 *   LWS_ERRQ_SHIM_REPORT=FILE also write the exit summary to FILE
 *
 * At exit (destructor) one line of JSON goes to stderr (and FILE):
 *   {"lws_errq_shim":{"pid":P,"every":N,"injected_total":T,
 *    "functions":{"SSL_select_next_proto":{"calls":C,"injected":I}, ...}}}
 * Tests assert injected_total > 0, so a run where the shim never fired fails.
 *
 *   LWS_ERRQ_SHIM=SSL_select_next_proto LD_PRELOAD=.../lws-errq-shim.so \
 *       lws-stress-server ...
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LWS_ERRQ_SHIM_REASON	0x5145	/* "QE" */

enum {
	F_SSL_SELECT_NEXT_PROTO,
	F_SSL_SESSION_GET_TIMEOUT,
	F_SSL_SESSION_GET_TIME,
	F_SSL_SESSION_IS_RESUMABLE,
	F_SSL_GET_EX_DATA,
	F_COUNT
};

static struct shim_fn {
	const char	*name;
	void		*real;
	int		enabled;
	unsigned long	calls;
	unsigned long	injected;
} fns[F_COUNT] = {
	[F_SSL_SELECT_NEXT_PROTO]	= { "SSL_select_next_proto" },
	[F_SSL_SESSION_GET_TIMEOUT]	= { "SSL_SESSION_get_timeout" },
	[F_SSL_SESSION_GET_TIME]	= { "SSL_SESSION_get_time" },
	[F_SSL_SESSION_IS_RESUMABLE]	= { "SSL_SESSION_is_resumable" },
	[F_SSL_GET_EX_DATA]		= { "SSL_get_ex_data" },
};

static unsigned long every = 1;
static int active;		/* the constructor finished its setup */
static pid_t owner_pid;		/* the summary is the loading process's */

static void __attribute__((noreturn))
shim_fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "lws-errq-shim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	fflush(stderr);
	_exit(3);
}

static void *
real_of(int i)
{
	/*
	 * Normally resolved by the constructor; a call that comes before it
	 * (another library's constructor) resolves here.
	 */
	if (!fns[i].real) {
		fns[i].real = dlsym(RTLD_NEXT, fns[i].name);
		if (!fns[i].real)
			shim_fail("cannot find the real %s (dlsym RTLD_NEXT)",
				  fns[i].name);
	}
	return fns[i].real;
}

/* count the call; push the entry if this call is one of every Nth */
static void
after_call(int i)
{
	unsigned long n;

	if (!active || !fns[i].enabled)
		return;
	n = __atomic_add_fetch(&fns[i].calls, 1, __ATOMIC_RELAXED);
	if (n % every)
		return;
	ERR_raise_data(ERR_LIB_USER, LWS_ERRQ_SHIM_REASON,
		       "lws-errq-shim: %s", fns[i].name);
	__atomic_add_fetch(&fns[i].injected, 1, __ATOMIC_RELAXED);
}

/* ---- the wrappers (same prototypes as OpenSSL 3's headers) ------------- */

int
SSL_select_next_proto(unsigned char **out, unsigned char *outlen,
		      const unsigned char *server, unsigned int server_len,
		      const unsigned char *client, unsigned int client_len)
{
	int (*real)(unsigned char **, unsigned char *, const unsigned char *,
		    unsigned int, const unsigned char *, unsigned int) =
		(int (*)(unsigned char **, unsigned char *,
			 const unsigned char *, unsigned int,
			 const unsigned char *, unsigned int))
				real_of(F_SSL_SELECT_NEXT_PROTO);
	int r = real(out, outlen, server, server_len, client, client_len);

	after_call(F_SSL_SELECT_NEXT_PROTO);
	return r;
}

long
SSL_SESSION_get_timeout(const SSL_SESSION *s)
{
	long (*real)(const SSL_SESSION *) = (long (*)(const SSL_SESSION *))
				real_of(F_SSL_SESSION_GET_TIMEOUT);
	long r = real(s);

	after_call(F_SSL_SESSION_GET_TIMEOUT);
	return r;
}

long
SSL_SESSION_get_time(const SSL_SESSION *s)
{
	long (*real)(const SSL_SESSION *) = (long (*)(const SSL_SESSION *))
				real_of(F_SSL_SESSION_GET_TIME);
	long r = real(s);

	after_call(F_SSL_SESSION_GET_TIME);
	return r;
}

int
SSL_SESSION_is_resumable(const SSL_SESSION *s)
{
	int (*real)(const SSL_SESSION *) = (int (*)(const SSL_SESSION *))
				real_of(F_SSL_SESSION_IS_RESUMABLE);
	int r = real(s);

	after_call(F_SSL_SESSION_IS_RESUMABLE);
	return r;
}

void *
SSL_get_ex_data(const SSL *ssl, int idx)
{
	void *(*real)(const SSL *, int) = (void *(*)(const SSL *, int))
				real_of(F_SSL_GET_EX_DATA);
	void *r = real(ssl, idx);

	after_call(F_SSL_GET_EX_DATA);
	return r;
}

/* ---- load / exit -------------------------------------------------------- */

static void
enable(const char *name, size_t len)
{
	char tmp[64];
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strlen(fns[i].name) == len &&
		    !strncmp(fns[i].name, name, len)) {
			fns[i].enabled = 1;
			return;
		}

	snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 60 ? len : 60), name);
	fprintf(stderr, "lws-errq-shim: LWS_ERRQ_SHIM: unknown function '%s'; "
		"known:", tmp);
	for (i = 0; i < F_COUNT; i++)
		fprintf(stderr, " %s", fns[i].name);
	fprintf(stderr, "\n");
	fflush(stderr);
	_exit(3);
}

__attribute__((constructor)) static void
shim_init(void)
{
	const char *list = getenv("LWS_ERRQ_SHIM"), *p, *e;
	const char *ev = getenv("LWS_ERRQ_SHIM_EVERY");
	int i, n = 0;

	if (!list || !*list)
		shim_fail("%s", "LWS_ERRQ_SHIM is not set: name the functions to "
			  "inject after (e.g. SSL_select_next_proto)");

	for (p = list; *p; p = e) {
		e = p + strcspn(p, ",");
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (e > p) {
			size_t len = (size_t)(e - p);

			while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				len--;
			if (len) {
				enable(p, len);
				n++;
			}
		}
		if (*e == ',')
			e++;
	}
	if (!n)
		shim_fail("LWS_ERRQ_SHIM='%s' names no function", list);

	if (ev && *ev) {
		char *end;

		errno = 0;
		every = strtoul(ev, &end, 10);
		if (errno || *end || !every || ev[0] == '-')
			shim_fail("LWS_ERRQ_SHIM_EVERY='%s' is not a number >= 1", ev);
	}

	for (i = 0; i < F_COUNT; i++)
		if (fns[i].enabled)
			real_of(i);

	owner_pid = getpid();
	active = 1;
}

static void
summary(FILE *f)
{
	unsigned long total = 0;
	int i, first = 1;

	for (i = 0; i < F_COUNT; i++)
		total += fns[i].injected;
	fprintf(f, "{\"lws_errq_shim\":{\"pid\":%ld,\"every\":%lu,"
		"\"injected_total\":%lu,\"functions\":{",
		(long)getpid(), every, total);
	for (i = 0; i < F_COUNT; i++) {
		if (!fns[i].enabled)
			continue;
		fprintf(f, "%s\"%s\":{\"calls\":%lu,\"injected\":%lu}",
			first ? "" : ",", fns[i].name, fns[i].calls,
			fns[i].injected);
		first = 0;
	}
	fprintf(f, "}}}\n");
	fflush(f);
}

__attribute__((destructor)) static void
shim_fini(void)
{
	const char *rep = getenv("LWS_ERRQ_SHIM_REPORT");

	/* a forked child that exits is not the process the test watches */
	if (!active || getpid() != owner_pid)
		return;
	summary(stderr);
	if (rep && *rep) {
		FILE *f = fopen(rep, "w");

		if (!f) {
			fprintf(stderr, "lws-errq-shim: cannot write "
				"LWS_ERRQ_SHIM_REPORT %s\n", rep);
			return;
		}
		summary(f);
		fclose(f);
	}
}
