/*
 * lws-io-shim: LD_PRELOAD fault injection on socket reads (field notes M1).
 *
 * A link that fails under a TLS library shows up as one read() or recv() on
 * the connection's socket that fails with an errno such as ETIMEDOUT or
 * EHOSTUNREACH.  This shim makes the Nth read() / recv() on a socket (any
 * socket of the process: the tests run one connection) fail once with the
 * chosen errno, without reading anything; every other call goes to libc.
 * TLS libraries read through either call (mbedTLS's net layer uses read(),
 * OpenSSL's socket BIO read() as well, lws itself recv()).
 *
 * Environment:
 *   LWS_IO_SHIM_FAIL_READ=N   fail the Nth socket read (1-based; required: a
 *                             missing or bad value stops the process at load,
 *                             exit 3, never a silent no-op)
 *   LWS_IO_SHIM_ERRNO=E       errno to fail with: ETIMEDOUT (default),
 *                             EHOSTUNREACH, ENETUNREACH, ECONNRESET
 *   LWS_IO_SHIM_REPORT=FILE   also write the exit summary to FILE
 *
 * At exit one line of JSON goes to stderr (and FILE):
 *   {"lws_io_shim":{"pid":P,"fail_read":N,"errno":"ETIMEDOUT",
 *    "socket_reads":R,"injected":I}}
 * Tests assert injected == 1, so a run where the shim never fired fails.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../common/th-shim.h"

static const struct {
	const char	*name;
	int		value;
} errnos[] = {
	{ "ETIMEDOUT", ETIMEDOUT }, { "EHOSTUNREACH", EHOSTUNREACH },
	{ "ENETUNREACH", ENETUNREACH }, { "ECONNRESET", ECONNRESET },
};

static struct {
	unsigned long	fail_read, socket_reads, injected;
	int		err;
	const char	*err_name, *report;
} shim;

/* resolved on first use: libc may read before our constructor runs */
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);

static __attribute__((constructor)) void
shim_init(void)
{
	const char *e;
	size_t n;

	e = getenv("LWS_IO_SHIM_ERRNO");
	if (!e || !*e)
		e = "ETIMEDOUT";
	for (n = 0; n < sizeof(errnos) / sizeof(errnos[0]); n++)
		if (!strcmp(e, errnos[n].name)) {
			shim.err = errnos[n].value;
			shim.err_name = errnos[n].name;
		}
	if (!shim.err_name) {
		fprintf(stderr, "lws-io-shim: LWS_IO_SHIM_ERRNO '%s' is not one of "
			"ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ECONNRESET\n", e);
		_exit(3);
	}
	shim.report = getenv("LWS_IO_SHIM_REPORT");
	/* last: from here on a socket read may be the one to fail */
	shim.fail_read = th_shim_env_count("lws-io-shim",
					   "LWS_IO_SHIM_FAIL_READ",
					   "a read number");
}

static __attribute__((destructor)) void
shim_fini(void)
{
	char line[256];

	snprintf(line, sizeof(line), "{\"lws_io_shim\":{\"pid\":%d,"
		 "\"fail_read\":%lu,\"errno\":\"%s\",\"socket_reads\":%lu,"
		 "\"injected\":%lu}}\n", (int)getpid(), shim.fail_read,
		 shim.err_name, shim.socket_reads, shim.injected);
	th_shim_report("lws-io-shim", line, shim.report);
}

/* 1 if this socket read is the one to fail */
static int
shim_fail_now(int fd)
{
	struct stat st;

	if (!shim.fail_read || fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return 0;
	if (++shim.socket_reads != shim.fail_read)
		return 0;
	shim.injected++;
	fprintf(stderr, "lws-io-shim: socket read %lu on fd %d fails with %s\n",
		shim.socket_reads, fd, shim.err_name);
	errno = shim.err;

	return 1;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	if (!real_read)
		real_read = (ssize_t (*)(int, void *, size_t))
						dlsym(RTLD_NEXT, "read");
	if (shim_fail_now(fd))
		return -1;

	return real_read(fd, buf, len);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	if (!real_recv)
		real_recv = (ssize_t (*)(int, void *, size_t, int))
						dlsym(RTLD_NEXT, "recv");
	if (shim_fail_now(fd))
		return -1;

	return real_recv(fd, buf, len, flags);
}
