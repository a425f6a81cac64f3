/*
 * dropin: an ordinary libwebsockets application, compiled against the
 * *vanilla* headers and library, that the drop-in test then runs unchanged
 * against the hardened libwebsockets.so.19 (LD_LIBRARY_PATH).
 *
 * It serves wss on an ephemeral loopback port and connects to itself as a
 * client ROUNDS times, one after another on the same client vhost (so the
 * TLS session cache is used), echoing one message per connection and closing
 * normally.  It prints which library it really runs on (the file the loader
 * mapped, and lws_hardened_version() looked up at run time) and exits 0 only
 * if every round echoed its message intact.
 *
 * Built with -DDROPIN_DEBIAN_API (against Debian's own headers), it also
 * refers to the functions only Debian's configuration exports (daemonize,
 * plugins API, extensions, the _DEBUG buflist dump), as an application of
 * Debian's would: run with LD_BIND_NOW=1, the loader must resolve them all
 * before main() or the program does not start.
 *
 * usage: dropin CA_PEM CERT_PEM KEY_PEM [ROUNDS]
 */
#define _GNU_SOURCE /* dladdr */
#include <libwebsockets.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 20
#define DEADLINE_SECS 20

struct pss {
	unsigned char buf[LWS_PRE + 128];
	size_t len;
};

static struct lws_context *context;
static struct lws_vhost *client_vh;
static int port, rounds, round_no, echoed, failed;
static char message[64];

static int
server_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	  void *in, size_t len)
{
	struct pss *pss = (struct pss *)user;

	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		if (len > sizeof(pss->buf) - LWS_PRE)
			return -1;
		memcpy(pss->buf + LWS_PRE, in, len);
		pss->len = len;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->len) /* writeable before anything arrived */
			break;
		if (lws_write(wsi, pss->buf + LWS_PRE, pss->len, LWS_WRITE_TEXT) <
		    (int)pss->len)
			return -1;
		pss->len = 0;
		break;
	default:
		break;
	}

	return 0;
}

static void
connect_next(void)
{
	struct lws_client_connect_info i;

	snprintf(message, sizeof(message), "drop-in round %d", round_no);
	memset(&i, 0, sizeof(i));
	i.context = context;
	i.vhost = client_vh;
	i.address = "127.0.0.1";
	i.port = port;
	i.host = "localhost";
	i.origin = "localhost";
	i.path = "/";
	i.protocol = "dropin";
	i.ssl_connection = LCCSCF_USE_SSL;
	if (!lws_client_connect_via_info(&i)) {
		fprintf(stderr, "dropin: round %d: connect failed\n", round_no);
		failed = 1;
	}
}

static int
client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	  void *in, size_t len)
{
	unsigned char buf[LWS_PRE + 64];
	size_t n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		n = strlen(message);
		memcpy(buf + LWS_PRE, message, n);
		if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (len == strlen(message) && !memcmp(in, message, len))
			echoed++;
		else {
			fprintf(stderr, "dropin: round %d: bad echo (%d bytes: %.*s)\n",
				round_no, (int)len, (int)len, (const char *)in);
			failed = 1;
		}
		return -1; /* close this connection normally */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "dropin: round %d: connection error: %s\n",
			round_no, in ? (const char *)in : "(none)");
		failed = 1;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (++round_no < rounds && !failed)
			connect_next();
		break;
	default:
		break;
	}

	return 0;
}

static const struct lws_protocols server_protocols[] = {
	{ "dropin", server_cb, sizeof(struct pss), 128, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static const struct lws_protocols client_protocols[] = {
	{ "dropin", client_cb, 0, 128, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

#if defined(DROPIN_DEBIAN_API)
/* exported by Debian's library, declared in no public header */
extern void lws_context_init_extensions(void);

/* taking their addresses makes them undefined symbols of this program */
static void (* const debian_api[])(void) = {
	(void (*)(void))lws_daemonize,
	(void (*)(void))lws_plugins_init,
	(void (*)(void))lws_plugins_destroy,
	(void (*)(void))lws_context_init_extensions,
	(void (*)(void))lws_ext_parse_options,
	(void (*)(void))lws_buflist_describe,
};
#endif

/* print the library the loader really mapped and whether it is hardened */
static void
report_library(void)
{
	const char *(*hardened_version)(void);
	Dl_info dli;

	if (dladdr((void *)lws_create_context, &dli) && dli.dli_fname)
		printf("library file: %s\n", dli.dli_fname);
	*(void **)&hardened_version = dlsym(RTLD_DEFAULT, "lws_hardened_version");
	printf("library identity: %s\n",
	       hardened_version ? hardened_version() : "vanilla libwebsockets");
	printf("lws_get_library_version: %s\n", lws_get_library_version());
#if defined(DROPIN_DEBIAN_API)
	{
		size_t n, found = 0;

		for (n = 0; n < LWS_ARRAY_SIZE(debian_api); n++)
			found += debian_api[n] != NULL;
		printf("Debian-only API resolved: %d of %d\n", (int)found,
		       (int)LWS_ARRAY_SIZE(debian_api));
	}
#endif
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_vhost *server_vh;
	time_t deadline;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s CA_PEM CERT_PEM KEY_PEM [ROUNDS]\n", argv[0]);
		return 2;
	}
	rounds = argc == 5 ? atoi(argv[4]) : 3;
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "dropin: ROUNDS must be 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	report_library();

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "dropin: lws_create_context failed\n");
		return 1;
	}

	memset(&info, 0, sizeof(info));
	info.vhost_name = "server";
	info.port = 0; /* ephemeral */
	info.iface = "127.0.0.1";
	info.protocols = server_protocols;
	info.ssl_cert_filepath = argv[2];
	info.ssl_private_key_filepath = argv[3];
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	server_vh = lws_create_vhost(context, &info);
	if (!server_vh) {
		fprintf(stderr, "dropin: server vhost failed\n");
		goto bail;
	}
	port = lws_get_vhost_listen_port(server_vh);

	memset(&info, 0, sizeof(info));
	info.vhost_name = "client";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.client_ssl_ca_filepath = argv[1];
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	client_vh = lws_create_vhost(context, &info);
	if (!client_vh) {
		fprintf(stderr, "dropin: client vhost failed\n");
		goto bail;
	}

	connect_next();
	deadline = time(NULL) + DEADLINE_SECS;
	while (!failed && round_no < rounds && time(NULL) < deadline)
		if (lws_service(context, 0) < 0)
			break;

bail:
	lws_context_destroy(context);
	printf("rounds: %d, echoed intact: %d%s\n", rounds, echoed,
	       failed ? ", FAILED" : "");

	return !(echoed == rounds && !failed);
}
