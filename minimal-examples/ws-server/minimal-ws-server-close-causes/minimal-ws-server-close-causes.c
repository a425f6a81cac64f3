/*
 * lws-minimal-ws-server-close-causes
 *
 * Written in 2026 by the lws-hardened authors.
 *
 * This file is made available under the Creative Commons CC0 1.0
 * Universal Public Domain Dedication.
 *
 * A wss echo server for many clients that says why each connection ended:
 * its close cause (clean, peer-reset, dirty-eof, alert-received / -sent,
 * tls-error, io-error, timeout, dead-link) and its first TLS error, and
 * every few seconds the library's counters (OpenSSL error queue, client
 * session cache).  --no-abortive-close makes dead links close gracefully,
 * the way libwebsockets 4.3.5 closes them.
 *
 * It builds against any libwebsockets 4.3.x: without lws-hardened's
 * additions (LWS_HARDENED_HAS_CLOSE_CAUSE) it says so once and logs the ends
 * without a cause.
 */

#include <libwebsockets.h>
#include <string.h>
#include <signal.h>

#define MAX_MSG 4096

struct conn {
	size_t		len;
	unsigned char	buf[LWS_PRE + MAX_MSG];
	char		pending;	/* an echo waits for WRITEABLE */
};

static struct lws_context *context;
static lws_sorted_usec_list_t sul_stats;
static int interrupted, stats_secs = 5;
static unsigned long ends;

static void
log_end(struct lws *wsi, const char *how)
{
#if defined(LWS_HARDENED_HAS_CLOSE_CAUSE)
	int cause = lws_hardened_close_cause(wsi);
	char err[256];

	lws_hardened_tls_error(wsi, err, sizeof(err));
	lwsl_user("end %lu (%s): cause %s%s%s\n", ++ends, how,
		  lws_hardened_close_cause_name(cause), err[0] ? ", " : "", err);
#else
	lwsl_user("end %lu (%s): cause unknown (not lws-hardened)\n", ++ends,
		  how);
#endif
}

static void
stats_cb(lws_sorted_usec_list_t *sul)
{
#if defined(LWS_HARDENED_HAS_CLOSE_CAUSE)
	char line[512];
	int n, m = 0;

	for (n = 0; lws_hardened_counter_name(n) && m < (int)sizeof(line) - 64; n++)
		m += lws_snprintf(line + m, sizeof(line) - (size_t)m, " %s=%llu",
				  lws_hardened_counter_name(n),
				  (unsigned long long)lws_hardened_counter(context, n));
	lwsl_user("counters:%s\n", line);
#endif
	lws_sul_schedule(context, 0, &sul_stats, stats_cb,
			 stats_secs * LWS_US_PER_SEC);
}

static int
callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct conn *c = (struct conn *)user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		c->pending = 0;
		break;

	case LWS_CALLBACK_RECEIVE:
		if (c->pending || len > MAX_MSG || !lws_is_final_fragment(wsi) ||
		    !lws_is_first_fragment(wsi))
			return -1; /* one whole message in flight at most */
		memcpy(c->buf + LWS_PRE, in, len);
		c->len = len;
		c->pending = 1;
		lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!c->pending)
			break;
		c->pending = 0;
		if (lws_write(wsi, c->buf + LWS_PRE, c->len,
			      lws_frame_is_binary(wsi) ? LWS_WRITE_BINARY :
							 LWS_WRITE_TEXT) < (int)c->len)
			return -1;
		break;

	case LWS_CALLBACK_CLOSED:
		log_end(wsi, "ws");
		break;

	default:
		break;
	}

	return 0;
}

/*
 * Every accepted connection starts on the first protocol and moves to the
 * echo protocol with its ws upgrade: one that ends before (a failed TLS
 * handshake, a plain HTTP request) is destroyed here
 */
static int
callback_first(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	       void *in, size_t len)
{
	/*
	 * (the listening socket is destroyed only at exit, when interrupted;
	 * an upgraded connection was logged by the echo protocol's CLOSED)
	 */
	if (reason == LWS_CALLBACK_WSI_DESTROY && !interrupted &&
	    lws_get_protocol(wsi) &&
	    lws_get_protocol(wsi)->callback == callback_first)
		log_end(wsi, "before ws");

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http-only", callback_first, 0, 0, 0, NULL, 0 },
	{ "lws-minimal-echo", callback_echo, sizeof(struct conn), MAX_MSG,
	  0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static void
sigint_handler(int sig)
{
	interrupted = 1;
	lws_cancel_service(context);
}

int
main(int argc, const char **argv)
{
	struct lws_context_creation_info info;
	const char *p;
	int n = 0, logs = LLL_USER | LLL_ERR | LLL_WARN;

	signal(SIGINT, sigint_handler);
	signal(SIGTERM, sigint_handler);
	if ((p = lws_cmdline_option(argc, argv, "-d")))
		logs = atoi(p);
	lws_set_log_level(logs, NULL);

	if (lws_cmdline_option(argc, argv, "-h") ||
	    lws_cmdline_option(argc, argv, "--help")) {
		lwsl_user("usage: %s [-p PORT] [--cert FILE --key FILE] "
			  "[--stats SECS] [--no-abortive-close] [-d LOGLEVEL]\n",
			  argv[0]);
		return 0;
	}

	memset(&info, 0, sizeof info);
	info.port = 7681;
	if ((p = lws_cmdline_option(argc, argv, "-p")))
		info.port = atoi(p);
	if ((p = lws_cmdline_option(argc, argv, "--stats")))
		stats_secs = atoi(p) > 0 ? atoi(p) : 5;
	info.protocols = protocols;
	info.ssl_cert_filepath = lws_cmdline_option(argc, argv, "--cert");
	info.ssl_private_key_filepath = lws_cmdline_option(argc, argv, "--key");
	if (!info.ssl_cert_filepath != !info.ssl_private_key_filepath) {
		lwsl_err("--cert and --key go together\n");
		return 1;
	}
	if (info.ssl_cert_filepath)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;

	context = lws_create_context(&info);
	if (!context) {
		lwsl_err("lws init failed (port %d in use? bad --cert/--key?)\n",
			 info.port);
		return 1;
	}

#if defined(LWS_HARDENED_HAS_ABORTIVE_CLOSE)
	if (lws_cmdline_option(argc, argv, "--no-abortive-close"))
		lws_hardened_abortive_close(context, 0);
	lwsl_user("%s\n", lws_hardened_version());
#else
	lwsl_user("not built against lws-hardened: no close causes, no "
		  "counters, dead links close as in libwebsockets 4.3.5\n");
#endif
	lwsl_user("listening on port %d (%s)\n", info.port,
		  info.ssl_cert_filepath ? "wss" : "ws");
	lws_sul_schedule(context, 0, &sul_stats, stats_cb,
			 stats_secs * LWS_US_PER_SEC);

	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);

	lws_sul_cancel(&sul_stats);
	stats_cb(&sul_stats);	/* a last line of counters */
	lws_sul_cancel(&sul_stats);
	lws_context_destroy(context);
	lwsl_user("%lu connections ended\n", ends);

	return 0;
}
