/*
 * lws-io-shim: LD_PRELOAD fault injection and accounting on a process's
 * sockets (field notes M1-M4).  Tests run one connection per process, so
 * "the socket" is any socket of the process.
 *
 * A link that fails under a TLS library shows up as one read() or recv() on
 * the connection's socket that fails with an errno such as ETIMEDOUT or
 * EHOSTUNREACH: LWS_IO_SHIM_FAIL_READ makes the Nth socket read fail once
 * with the chosen errno, without reading anything.  TLS libraries read
 * through either call (mbedTLS's net layer uses read(), OpenSSL's socket BIO
 * read() as well, lws itself recv()).
 *
 * A tiny socket send buffer makes a TLS library's handshake flight stop
 * half-written (EAGAIN): LWS_IO_SHIM_SNDBUF sets SO_SNDBUF on every TCP
 * socket the process connects or accepts.
 *
 * Every write() / send() on a socket is counted, and so are the TLS alert
 * records among them (a write starting with a record header of type 21:
 * TLS 1.2 alerts, close_notify included, travel in their own record type),
 * so a test can tell how many close_notify a peer was answered with, or
 * whether one was written into a link that had failed.
 *
 * Environment (each optional; a value that is set but bad stops the process
 * at load, exit 3, never a silent no-op):
 *   LWS_IO_SHIM_FAIL_READ=N   fail the Nth socket read (1-based)
 *   LWS_IO_SHIM_ERRNO=E       errno to fail with: ETIMEDOUT (default),
 *                             EHOSTUNREACH, ENETUNREACH, ECONNRESET
 *   LWS_IO_SHIM_SNDBUF=B      SO_SNDBUF of connected and accepted TCP sockets
 *   LWS_IO_SHIM_REPORT=FILE   also write the exit summary to FILE
 *
 * At exit one line of JSON goes to stderr (and FILE):
 *   {"lws_io_shim":{"pid":P,"fail_read":N,"errno":"ETIMEDOUT",
 *    "socket_reads":R,"injected":I,"sndbuf":B,"sndbuf_set":S,
 *    "socket_writes":W,"writes_eagain":A,"alerts_written":L,
 *    "alerts_write_failed":F,"alerts_after_injected":J}}
 * Tests assert on the counts they depend on (injected == 1, writes_eagain
 * > 0...), so a run where the shim never acted fails.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../common/th-shim.h"

#define TLS_RECORD_ALERT 21

static const struct {
	const char	*name;
	int		value;
} errnos[] = {
	{ "ETIMEDOUT", ETIMEDOUT }, { "EHOSTUNREACH", EHOSTUNREACH },
	{ "ENETUNREACH", ENETUNREACH }, { "ECONNRESET", ECONNRESET },
};

static struct {
	unsigned long	fail_read, socket_reads, injected;
	unsigned long	sndbuf, sndbuf_set;
	unsigned long	socket_writes, writes_eagain;
	unsigned long	alerts_written, alerts_write_failed;
	unsigned long	alerts_after_injected;
	int		err;
	const char	*err_name, *report;
} shim;

/* resolved on first use: libc may do I/O before our constructor runs */
#define RESOLVE(fn) do { if (!real_##fn) real_##fn = \
		(__typeof__(real_##fn))dlsym(RTLD_NEXT, #fn); } while (0)
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_send)(int, const void *, size_t, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

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
	shim.sndbuf = th_shim_env_optional("lws-io-shim", "LWS_IO_SHIM_SNDBUF",
					   "a byte count");
	/* last: from here on a socket read may be the one to fail */
	shim.fail_read = th_shim_env_optional("lws-io-shim",
					      "LWS_IO_SHIM_FAIL_READ",
					      "a read number");
}

static __attribute__((destructor)) void
shim_fini(void)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"lws_io_shim\":{\"pid\":%d,"
		 "\"fail_read\":%lu,\"errno\":\"%s\",\"socket_reads\":%lu,"
		 "\"injected\":%lu,\"sndbuf\":%lu,\"sndbuf_set\":%lu,"
		 "\"socket_writes\":%lu,\"writes_eagain\":%lu,"
		 "\"alerts_written\":%lu,\"alerts_write_failed\":%lu,"
		 "\"alerts_after_injected\":%lu}}\n",
		 (int)getpid(), shim.fail_read, shim.err_name,
		 shim.socket_reads, shim.injected, shim.sndbuf, shim.sndbuf_set,
		 shim.socket_writes, shim.writes_eagain, shim.alerts_written,
		 shim.alerts_write_failed, shim.alerts_after_injected);
	th_shim_report("lws-io-shim", line, shim.report);
}

static int
is_socket(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISSOCK(st.st_mode);
}

/* 1 if this socket read is the one to fail */
static int
shim_fail_now(int fd)
{
	if (!shim.fail_read || !is_socket(fd))
		return 0;
	if (++shim.socket_reads != shim.fail_read)
		return 0;
	shim.injected++;
	fprintf(stderr, "lws-io-shim: socket read %lu on fd %d fails with %s\n",
		shim.socket_reads, fd, shim.err_name);
	errno = shim.err;

	return 1;
}

/* a socket write returned ret: count it, and the alert record it carried */
static void
shim_count_write(int fd, const void *buf, size_t len, ssize_t ret, int err)
{
	const unsigned char *p = buf;

	if (!is_socket(fd))
		return;
	shim.socket_writes++;
	if (ret < 0 && (err == EAGAIN || err == EWOULDBLOCK))
		shim.writes_eagain++;
	if (len < 5 || p[0] != TLS_RECORD_ALERT || p[1] != 3)
		return;
	shim.alerts_written++;
	if (ret < 0)
		shim.alerts_write_failed++;
	if (shim.injected)
		shim.alerts_after_injected++;
	fprintf(stderr, "lws-io-shim: alert record written on fd %d (%s)\n",
		fd, ret < 0 ? strerror(err) : "sent");
}

/* a TCP socket got connected or accepted: give it the tiny send buffer */
static void
shim_set_sndbuf(int fd)
{
	int v = (int)shim.sndbuf, type = 0;
	socklen_t tl = sizeof(type);

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (fd < 0 || !shim.sndbuf ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v))) {
		fprintf(stderr, "lws-io-shim: SO_SNDBUF %d on fd %d: %s\n", v, fd,
			strerror(errno));
		return;
	}
	shim.sndbuf_set++;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	RESOLVE(read);
	if (shim_fail_now(fd))
		return -1;

	return real_read(fd, buf, len);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	RESOLVE(recv);
	if (shim_fail_now(fd))
		return -1;

	return real_recv(fd, buf, len, flags);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t r;
	int err;

	RESOLVE(write);
	r = real_write(fd, buf, len);
	err = errno;

	shim_count_write(fd, buf, len, r, err);
	errno = err;

	return r;
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t r;
	int err;

	RESOLVE(send);
	r = real_send(fd, buf, len, flags);
	err = errno;

	shim_count_write(fd, buf, len, r, err);
	errno = err;

	return r;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t sl)
{
	RESOLVE(connect);
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		shim_set_sndbuf(fd);

	return real_connect(fd, sa, sl);
}

int
accept(int fd, struct sockaddr *sa, socklen_t *sl)
{
	int r, err;

	RESOLVE(accept);
	r = real_accept(fd, sa, sl);
	err = errno;

	shim_set_sndbuf(r);
	errno = err;

	return r;
}

int
accept4(int fd, struct sockaddr *sa, socklen_t *sl, int flags)
{
	int r, err;

	RESOLVE(accept4);
	r = real_accept4(fd, sa, sl, flags);
	err = errno;

	shim_set_sndbuf(r);
	errno = err;

	return r;
}
