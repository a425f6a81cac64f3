/*
 * errq-audit-selftest: a tiny OpenSSL program for lws-errq-audit's own test
 * (selftest.sh).  Each mode makes one known situation on one thread:
 *
 *   clean        every SSL call starts with an empty queue: the audit must
 *                report 0 stale entries
 *   planted      plant_stale_entry() raises one error (ERR_LIB_USER), then
 *                read_waiting() calls SSL_read() on an established
 *                connection that has nothing to read (it only waits): the audit must report one misled, waiting
 *                call, and the entry raised in plant_stale_entry() at the
 *                line printed on stdout, left by no audited call
 *   left-behind  leave_connect_error() calls SSL_connect() against a peer
 *                that answers with plain text, and leaves its errors
 *                queued; read_waiting() then reads as above: the audit must
 *                name SSL_connect() called from leave_connect_error()
 *   signal       raises SIGUSR2, makes one SSL call, then prints whether the
 *                summary file (LWS_ERRQ_AUDIT_JSON) was written at "signal"
 *
 * stdout: one line of JSON, {"mode":...,"plant_line":N,"read_result":R}
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static int plant_line;

static SSL *
ssl_on(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		fprintf(stderr, "errq-audit-selftest: SSL_new/SSL_set_fd failed\n");
		exit(2);
	}
	return ssl;
}

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		exit(2);
	}
}

/* a server context with a throwaway self-signed P-256 certificate */
static SSL_CTX *
server_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	if (!ctx || !key || !x)
		exit(2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"selftest", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (!X509_sign(x, key, EVP_sha256()) ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		fprintf(stderr, "errq-audit-selftest: cannot make a certificate\n");
		exit(2);
	}
	X509_free(x);
	EVP_PKEY_free(key);

	return ctx;
}

/*
 * An established TLS connection in this process: *client is the client
 * side, *server the server side (both non-blocking, nothing in flight)
 */
static void
connected_pair(SSL_CTX *cctx, SSL_CTX *sctx, SSL **client, SSL **server)
{
	int sv[2], i, c = 0, s = 0;
	char buf[64];

	pair(sv);
	*client = ssl_on(cctx, sv[0]);
	*server = ssl_on(sctx, sv[1]);
	SSL_set_connect_state(*client);
	SSL_set_accept_state(*server);
	for (i = 0; i < 100 && (c != 1 || s != 1); i++) {
		if (c != 1)
			c = SSL_do_handshake(*client);
		if (s != 1)
			s = SSL_do_handshake(*server);
	}
	if (c != 1 || s != 1) {
		fprintf(stderr, "errq-audit-selftest: handshake failed\n");
		exit(2);
	}
	/*
	 * Read the TLS 1.3 session tickets now: OpenSSL's state machine,
	 * which handles them, clears the queue itself when it starts
	 */
	SSL_read(*client, buf, sizeof(buf));
	ERR_clear_error();
}

static void
close_pair(SSL *client, SSL *server)
{
	close(SSL_get_fd(client));
	close(SSL_get_fd(server));
	SSL_free(client);
	SSL_free(server);
}

static void __attribute__((noinline))
plant_stale_entry(void)
{
	plant_line = __LINE__ + 1;
	ERR_raise_data(ERR_LIB_USER, 42, "planted by errq-audit-selftest");
}

static int __attribute__((noinline))
leave_connect_error(SSL_CTX *ctx)
{
	static const char not_tls[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	int sv[2], r;
	SSL *ssl;

	pair(sv);
	ssl = ssl_on(ctx, sv[0]);
	if (write(sv[1], not_tls, sizeof(not_tls) - 1) < 0)
		exit(2);
	r = SSL_connect(ssl);	/* fails: the peer does not speak TLS */
	SSL_free(ssl);
	close(sv[0]);
	close(sv[1]);

	return r;
}

/* SSL_read() on an established connection with nothing to read */
static int __attribute__((noinline))
read_waiting(SSL *ssl, int clear_first)
{
	char buf[64];

	if (clear_first)
		ERR_clear_error();

	return SSL_read(ssl, buf, sizeof(buf));	/* only waits: WANT_READ */
}

/* the audit's JSON file says it was written on the signal */
static int
summary_written_at_signal(void)
{
	const char *path = getenv("LWS_ERRQ_AUDIT_JSON");
	char buf[4096];
	size_t n;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';

	return strstr(buf, "\"written_at\":\"signal\"") != NULL;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	SSL_CTX *ctx, *sctx;
	SSL *client, *server;
	int r = 0;

	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		printf("usage: errq-audit-selftest clean|planted|left-behind|signal\n");
		return 0;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	sctx = server_ctx();
	if (!ctx)
		return 2;
	connected_pair(ctx, sctx, &client, &server);
	if (!strcmp(mode, "clean")) {
		r = leave_connect_error(ctx);
		r = read_waiting(client, 1);
	} else if (!strcmp(mode, "planted")) {
		ERR_clear_error();
		plant_stale_entry();
		r = read_waiting(client, 0);
	} else if (!strcmp(mode, "left-behind")) {
		ERR_clear_error();
		if (leave_connect_error(ctx) > 0) {
			fprintf(stderr, "errq-audit-selftest: SSL_connect to a "
				"plain-text peer succeeded?\n");
			return 2;
		}
		r = read_waiting(client, 0);
	} else if (!strcmp(mode, "signal")) {
		raise(SIGUSR2);
		r = read_waiting(client, 1);
		printf("{\"signal_summary\":%s}\n",
		       summary_written_at_signal() ? "true" : "false");
	} else {
		fprintf(stderr, "errq-audit-selftest: unknown mode '%s' "
			"(clean, planted, left-behind, signal)\n", mode);
		return 2;
	}
	printf("{\"mode\":\"%s\",\"plant_line\":%d,\"read_result\":%d}\n",
	       mode, plant_line, r);
	close_pair(client, server);
	SSL_CTX_free(ctx);
	SSL_CTX_free(sctx);

	return 0;
}
