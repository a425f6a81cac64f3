/*
 * lws-stress-server: wss / ws echo server for the lws-hardened stress tests
 *
 * One lws context, one thread, many concurrent clients.  Besides echoing it
 * can plant stale OpenSSL errors from chosen places (--plant), inspect the
 * thread's error queue at every callback (--check-queue), reload its
 * certificate at runtime (--reload-certs-ms) and send large responses a slow
 * peer must receive whole (--large-response).  It prints a one-line status
 * every --stats-interval seconds and a JSON summary at the end.
 */
#include "th-lws.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(TH_HAVE_OSSL_API) && defined(TH_TLS_BACKEND_openssl)
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#endif

#define TOOL "lws-stress-server"
#define TX_CHUNK (32 * 1024)
#define MAX_RELOAD_LOG 64

/* ---- plant places ------------------------------------------------------- */

enum {
	PL_SSL_INFO_HS,
	PL_SSL_INFO_ALL,
	PL_SSL_INFO_EST,
	PL_VERIFY,
	PL_TIMER,
	PL_WRITEABLE,
	PL_RECEIVE,
	PL_ESTABLISHED,
	PL_CLOSED,
	PL_COUNT
};

static const char * const plant_names[PL_COUNT] = {
	"ssl-info-handshake", "ssl-info-all", "ssl-info-established", "verify",
	"timer", "writeable", "receive", "established", "closed",
};

/* ---- options ------------------------------------------------------------ */

static struct {
	int		port;
	const char	*cert, *key, *ca;
	int		require_client_cert;
	int		no_tls;
	int		no_resume;
	unsigned long	forget_after;	/* forget sessions after N established */
	double		duration;
	int		max_conns;
	uint64_t	seed;
	unsigned int	plant_mask;
	unsigned long	plant_every;
	int		plant_interval_ms;
	int		check_queue;
	int		reload_ms;
	const char	*reload_cert, *reload_key;
	int		reload_mem;
	int		validity_ping, validity_hangup;
	int		timeout_secs;
	int		no_abortive_close;
	int		echo_delay_ms;
	size_t		large_response;
	size_t		max_msg;
	double		stats_interval;
	const char	*json_path;
	const char	*ready_file;
	int		debug;
	const char	*iface;
} opt = {
	.port = 7681,
	.plant_every = 1,
	.plant_interval_ms = 10,
	.reload_mem = 1,
	.max_msg = 16u << 20,
	.stats_interval = 1.0,
	.debug = TH_LWS_LOG_DEFAULT,
};

/* ---- per-connection state (opaque user data of the wsi) ----------------- */

struct outmsg {
	struct outmsg	*next;
	size_t		len;
	size_t		off;
	uint64_t	due_us;		/* --echo-delay */
	int		binary;
	uint8_t		buf[];		/* LWS_PRE + len */
};

struct conn {
	struct conn	*prev, *next;
	struct lws	*wsi;
	uint32_t	id;
	int		accepted;	/* a client socket, not a helper wsi */
	int		progressed;	/* got past TLS accept */
	int		established;
	int		closing_by_us;
	int		peer_close_code; /* -1: no ws close from peer */
	int		port;
	int		large_sent;
	uint64_t	t_accept_us;	/* WSI_CREATE of an accepted socket */
	uint8_t		*rx;
	size_t		rx_len, rx_cap;
	int		rx_binary;
	int		rx_paused;
	struct outmsg	*q_head, *q_tail;
	size_t		q_bytes;
	unsigned int	q_n;
	lws_sorted_usec_list_t sul_delay;
};

/* ---- statistics --------------------------------------------------------- */

static struct {
	unsigned long	accepted, rejected_max_conns, established, closed;
	unsigned long	handshake_failures, live, live_max, est_live, est_max;
	unsigned long	msgs_echoed, large_responses, msgs_too_big;
	unsigned long long bytes_rx, bytes_tx;
	unsigned long	plant_events[PL_COUNT], plants[PL_COUNT];
	unsigned long	session_reused, session_full, session_unknown;
	unsigned long	forgotten_at;	/* established count when forgotten */
	unsigned long	close_peer_ws, close_by_server, close_abrupt;
	unsigned long	close_codes[16]; /* 1000..1015 */
	unsigned long	ssl_info_events;
	unsigned long	verify_calls;
	unsigned long	reloads, reload_ret_nonzero;
	unsigned long	reload_entries_total, reload_lws_entries_total;
} st;

/*
 * Why TLS connections ended (lws-hardened close-cause API; empty on vanilla
 * builds) and how long failed handshakes lived, accept to end.
 */
#define MAX_HS_FAIL_SAMPLES 1000000
static th_end_tab_t ends_tab;
static float *hs_fail_ms;
static size_t n_hs_fail_ms, cap_hs_fail_ms;
static unsigned long hs_fail_ms_dropped;
static double hs_fail_ms_max;
static th_ctr_snap_t counters;

struct reload_rec {
	unsigned long	idx;
	const char	*set;
	int		ret;
	int		entries;
	int		lws_entries;
	char		first[200];
};

static struct reload_rec reload_log[MAX_RELOAD_LOG];
static int reload_log_n;

static struct lws_context *context;
static struct conn *conns;		/* every live conn */
/*
 * lws announces a new server wsi (WSI_CREATE) before its adoption code resets
 * the wsi's opaque user data, so the conn is attached at the wsi's next
 * callback, which the same adoption call always issues.
 */
static struct conn *pending_conn;
static uint32_t next_conn_id;
static int serving, stopping;
static uint64_t t_start;
static char workdir[256], wcert[300], wkey[300];
static char *orig_cert_mem, *orig_key_mem;
static size_t orig_cert_len, orig_key_len;

static lws_sorted_usec_list_t sul_tick, sul_plant, sul_stats, sul_reload;

/* ---- error queue inspection (th-lws queue checker) ---------------------- */

#define SITE_SERVICE	"after lws_service"
#define SITE_RELOAD	"after lws_tls_cert_updated"

static th_errq_check_t errq;

static void
check_queue_at_callback(int reason)
{
	th_errq_check_at_callback(&errq, reason);
}

static void
check_queue_after_service(void)
{
	th_errq_check_after(&errq, SITE_SERVICE, NULL);
}

static void
plant(int place)
{
	if (!(opt.plant_mask & (1u << place)))
		return;
	if (++st.plant_events[place] % opt.plant_every)
		return;
	if (!th_errq_plant(place))
		st.plants[place]++;
}

/* ---- outgoing queue ----------------------------------------------------- */

static void
q_free_all(struct conn *c)
{
	struct outmsg *m = c->q_head, *n;

	while (m) {
		n = m->next;
		free(m);
		m = n;
	}
	c->q_head = c->q_tail = NULL;
	c->q_bytes = 0;
	c->q_n = 0;
}

static struct outmsg *
q_new(size_t len, int binary)
{
	struct outmsg *m = malloc(sizeof(*m) + LWS_PRE + len);

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->len = len;
	m->binary = binary;
	m->due_us = opt.echo_delay_ms ?
		th_now_us() + (uint64_t)opt.echo_delay_ms * 1000u : 0;

	return m;
}

static void
q_push(struct conn *c, struct outmsg *m)
{
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	c->q_bytes += m->len;
	c->q_n++;

	/* a client that never reads must not grow us without bound */
	if (!c->rx_paused && (c->q_bytes > (8u << 20) || c->q_n > 512)) {
		c->rx_paused = 1;
		lws_rx_flow_control(c->wsi, 0);
	}
}

static void
sul_delay_cb(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_delay);

	lws_callback_on_writable(c->wsi);
}

static struct outmsg *
make_large_response(const th_msg_hdr_t *req, uint32_t conn_id)
{
	size_t total = opt.large_response, i;
	th_msg_hdr_t h;
	struct outmsg *m;
	th_rng_t rng;
	uint8_t *p;

	if (total < TH_MSG_HDR_LEN)
		total = TH_MSG_HDR_LEN;
	m = q_new(total, 1);
	if (!m)
		return NULL;
	p = m->buf + LWS_PRE;
	th_rng_fork(&rng, opt.seed, 0x4c41524745ull ^ conn_id);
	for (i = TH_MSG_HDR_LEN; i < total; i++)
		p[i] = (uint8_t)th_rng_next(&rng);
	memset(&h, 0, sizeof(h));
	h.magic = TH_MSG_MAGIC;
	h.conn_id = req ? req->conn_id : conn_id;
	h.attempt = req ? req->attempt : 0;
	h.seq = req ? req->seq : 0;
	h.flags = TH_MSG_F_LARGE_RESP;
	h.len = (uint32_t)(total - TH_MSG_HDR_LEN);
	h.crc = th_crc32(p + TH_MSG_HDR_LEN, h.len);
	th_msg_hdr_put(p, &h);

	return m;
}

static int
rx_complete(struct conn *c)
{
	struct outmsg *m;
	th_msg_hdr_t h;
	int want_large = 0, have_hdr;

	have_hdr = !th_msg_hdr_get(c->rx, c->rx_len, &h);
	if (opt.large_response) {
		if (have_hdr && (h.flags & TH_MSG_F_WANT_LARGE))
			want_large = 1;
		if (!c->rx_binary && c->rx_len == 5 && !memcmp(c->rx, "LARGE", 5))
			want_large = 1;
	}

	if (want_large) {
		m = make_large_response(have_hdr ? &h : NULL, c->id);
		if (!m)
			return -1;
		st.large_responses++;
		c->large_sent++;
	} else {
		m = q_new(c->rx_len, c->rx_binary);
		if (!m)
			return -1;
		if (c->rx_len)
			memcpy(m->buf + LWS_PRE, c->rx, c->rx_len);
		st.msgs_echoed++;
	}
	q_push(c, m);
	c->rx_len = 0;
	lws_callback_on_writable(c->wsi);

	return 0;
}

static int
rx_append(struct conn *c, const void *in, size_t len)
{
	size_t need = c->rx_len + len;
	uint8_t *n;

	if (need > opt.max_msg)
		return 1;
	if (need > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 4096;

		while (cap < need)
			cap *= 2;
		n = realloc(c->rx, cap);
		if (!n)
			return -1;
		c->rx = n;
		c->rx_cap = cap;
	}
	if (len)
		memcpy(c->rx + c->rx_len, in, len);
	c->rx_len = need;

	return 0;
}

static int
tx_one(struct conn *c)
{
	struct outmsg *m = c->q_head;
	size_t chunk;
	int flags, n;

	if (!m)
		return 0;
	if (m->due_us && th_now_us() < m->due_us) {
		lws_sul_schedule(context, 0, &c->sul_delay, sul_delay_cb,
				 (lws_usec_t)(m->due_us - th_now_us()));
		return 0;
	}

	chunk = m->len - m->off;
	if (chunk > TX_CHUNK)
		chunk = TX_CHUNK;
	flags = lws_write_ws_flags(m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
				   m->off == 0, m->off + chunk == m->len);
	n = lws_write(c->wsi, m->buf + LWS_PRE + m->off, chunk,
		      (enum lws_write_protocol)flags);
	if (n < (int)chunk) {
		lwsl_info("%s: conn %u: lws_write failed\n", __func__, c->id);
		return -1;
	}
	st.bytes_tx += chunk;
	m->off += chunk;
	if (m->off == m->len) {
		c->q_head = m->next;
		if (!c->q_head)
			c->q_tail = NULL;
		c->q_bytes -= m->len;
		c->q_n--;
		free(m);
		if (c->rx_paused && c->q_bytes < (2u << 20) && c->q_n < 128) {
			c->rx_paused = 0;
			lws_rx_flow_control(c->wsi, 1);
		}
	}
	if (c->q_head)
		lws_callback_on_writable(c->wsi);

	return 0;
}

/* ---- connection lifecycle ----------------------------------------------- */

static struct conn *
conn_new(struct lws *wsi)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->wsi = wsi;
	c->id = next_conn_id++;
	c->accepted = serving;
	c->peer_close_code = -1;
	c->t_accept_us = th_now_us();
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	if (c->accepted) {
		st.live++;
		if (st.live > st.live_max)
			st.live_max = st.live;
	}

	return c;
}

static void
hs_fail_time_add(double ms)
{
	if (ms > hs_fail_ms_max)
		hs_fail_ms_max = ms;
	if (n_hs_fail_ms == cap_hs_fail_ms && cap_hs_fail_ms < MAX_HS_FAIL_SAMPLES) {
		size_t nc = cap_hs_fail_ms ? cap_hs_fail_ms * 2 : 1024;
		float *n = realloc(hs_fail_ms, nc * sizeof(*n));

		if (n) {
			hs_fail_ms = n;
			cap_hs_fail_ms = nc;
		}
	}
	if (n_hs_fail_ms < cap_hs_fail_ms)
		hs_fail_ms[n_hs_fail_ms++] = (float)ms;
	else
		hs_fail_ms_dropped++;
}

/* wsi: the connection's wsi at WSI_DESTROY, NULL if lws never reported it */
static void
conn_destroy(struct conn *c, struct lws *wsi)
{
	if (c->accepted) {
		st.live--;
		if (!opt.no_tls && wsi) {
			th_conn_end_t e;

			th_lws_conn_end(wsi, &e);
			th_end_tab_add(&ends_tab, &e);
		}
		if (!c->progressed && !c->established && !opt.no_tls) {
			st.handshake_failures++;
			hs_fail_time_add((double)(th_now_us() - c->t_accept_us) /
					 1000.0);
		}
		if (c->established) {
			st.closed++;
			st.est_live--;
			if (c->peer_close_code >= 0) {
				st.close_peer_ws++;
				if (c->peer_close_code >= 1000 &&
				    c->peer_close_code < 1016)
					st.close_codes[c->peer_close_code - 1000]++;
			} else if (c->closing_by_us)
				st.close_by_server++;
			else
				st.close_abrupt++;
		}
	}
	lws_sul_cancel(&c->sul_delay);
	q_free_all(c);
	free(c->rx);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

#if defined(TH_HAVE_OSSL_API)
/* the vhost's SSL_CTX, for --forget-sessions-after */
static SSL_CTX *server_ctx;

/*
 * Forget every session the server could resume, as a restart with new
 * ticket keys would: tickets issued so far no longer decrypt and the
 * session cache is empty.
 */
static void
forget_sessions(void)
{
	unsigned char keys[80];

	if (!server_ctx || RAND_bytes(keys, sizeof(keys)) != 1 ||
	    SSL_CTX_set_tlsext_ticket_keys(server_ctx, keys, sizeof(keys)) != 1)
		th_die("--forget-sessions-after: cannot set new ticket keys");
	/* a flush "as of" the far future removes every cached session */
	SSL_CTX_flush_sessions(server_ctx, LONG_MAX);
	st.forgotten_at = st.established;
	lwsl_user("forgot every TLS session after %lu established\n",
		  st.established);
}
#else
static void
forget_sessions(void)
{
}
#endif

static int
callback_stress(struct lws *wsi, enum lws_callback_reasons reason,
		void *user, void *in, size_t len)
{
	struct conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;

	check_queue_at_callback((int)reason);

	if (!c && pending_conn && wsi == pending_conn->wsi &&
	    reason != LWS_CALLBACK_WSI_CREATE) {
		c = pending_conn;
		pending_conn = NULL;
		lws_set_opaque_user_data(wsi, c);
	}

	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		if (!c) {
			c = conn_new(wsi);
			if (!c)
				return -1;
			pending_conn = c;
		}
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		if (c == pending_conn)
			pending_conn = NULL;
		if (c) {
			lws_set_opaque_user_data(wsi, NULL);
			conn_destroy(c, wsi);
		}
		return 0;

	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		st.accepted++;
		if (stopping || (opt.max_conns && st.live >= (unsigned long)opt.max_conns)) {
			st.rejected_max_conns++;
			return 1;
		}
		return 0;

	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return 0;

#if defined(TH_HAVE_OSSL_API)
	case LWS_CALLBACK_SSL_INFO: {
		struct lws_ssl_info *si = in;

		st.ssl_info_events++;
		if (si->where & (SSL_CB_HANDSHAKE_START | SSL_CB_HANDSHAKE_DONE))
			plant(PL_SSL_INFO_HS);
		plant(PL_SSL_INFO_ALL);
		if (c && c->established)
			plant(PL_SSL_INFO_EST);
		return 0;
	}

	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
		st.verify_calls++;
		plant(PL_VERIFY);
		/* 0 accepts: keep OpenSSL's own verdict */
		return len ? 0 : 1;
#endif

#if defined(TH_HAVE_OSSL_API)
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* user is the vhost SSL_CTX */
		server_ctx = user;
		if (opt.no_resume && user)
			SSL_CTX_set_session_cache_mode((SSL_CTX *)user,
						       SSL_SESS_CACHE_OFF);
		return 0;
#endif

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (c)
			c->progressed = 1;
		if (stopping)
			return 1;
		return 0;

	case LWS_CALLBACK_ESTABLISHED: {
		int r;

		if (!c)
			return -1;
		c->progressed = 1;
		c->established = 1;
		c->port = th_lws_local_port(wsi);
		st.established++;
		st.est_live++;
		if (st.est_live > st.est_max)
			st.est_max = st.est_live;
		r = th_lws_session_reused(wsi, 0);
		if (r > 0)
			st.session_reused++;
		else if (!r)
			st.session_full++;
		else
			st.session_unknown++;
		plant(PL_ESTABLISHED);
		if (opt.forget_after && st.established == opt.forget_after)
			forget_sessions();
		return 0;
	}

	case LWS_CALLBACK_RECEIVE: {
		int r;

		if (!c)
			return -1;
		st.bytes_rx += len;
		if (lws_is_first_fragment(wsi)) {
			c->rx_len = 0;
			c->rx_binary = lws_frame_is_binary(wsi);
		}
		r = rx_append(c, in, len);
		if (r < 0)
			return -1;
		if (r > 0) {
			st.msgs_too_big++;
			c->closing_by_us = 1;
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					 (unsigned char *)"too big", 7);
			return -1;
		}
		if (lws_is_final_fragment(wsi) &&
		    !lws_remaining_packet_payload(wsi) && rx_complete(c))
			return -1;
		plant(PL_RECEIVE);
		return 0;
	}

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!c)
			return -1;
		if (c->closing_by_us) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
					 (unsigned char *)"bye", 3);
			return -1;
		}
		if (tx_one(c))
			return -1;
		plant(PL_WRITEABLE);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c) {
			c->peer_close_code = len >= 2 ?
				(((const uint8_t *)in)[0] << 8) |
				((const uint8_t *)in)[1] : 1005;
		}
		return 0;

	case LWS_CALLBACK_CLOSED:
		plant(PL_CLOSED);
		return 0;

	default:
		break;
	}

	/* any other wsi activity means the TLS accept is behind us */
	if (c && reason != LWS_CALLBACK_GET_THREAD_ID &&
	    reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED &&
	    reason != LWS_CALLBACK_SSL_INFO &&
	    reason != LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION &&
	    (reason == LWS_CALLBACK_FILTER_HTTP_CONNECTION ||
	     reason == LWS_CALLBACK_HTTP ||
	     reason == LWS_CALLBACK_HTTP_BIND_PROTOCOL ||
	     reason == LWS_CALLBACK_ADD_HEADERS ||
	     reason == LWS_CALLBACK_WS_SERVER_BIND_PROTOCOL))
		c->progressed = 1;

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "lws-stress", callback_stress, 0, 64 * 1024, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

/* ---- timers ------------------------------------------------------------- */

static void
sul_tick_cb(lws_sorted_usec_list_t *sul)
{
	/* keeps lws_service() returning so the main loop sees time and signals */
	lws_sul_schedule(context, 0, &sul_tick, sul_tick_cb, 100 * LWS_US_PER_MS);
}

static void
sul_plant_cb(lws_sorted_usec_list_t *sul)
{
	plant(PL_TIMER);
	lws_sul_schedule(context, 0, &sul_plant, sul_plant_cb,
			 (lws_usec_t)opt.plant_interval_ms * LWS_US_PER_MS);
}

static void
print_stats(void)
{
	unsigned long pl = 0, ql;
	int i;

	for (i = 0; i < PL_COUNT; i++)
		pl += st.plants[i];
	/* callbacks and lws_service(); reloads are reported on their own */
	ql = th_errq_check_lws_total(&errq) -
	     th_errq_check_site_lws(&errq, SITE_RELOAD);
	fprintf(stderr, "[%s %.1fs] live %lu est %lu (max %lu) accepted %lu "
		"hs_fail %lu closed %lu echoed %lu plants %lu lws_left %lu "
		"reloads %lu\n", TOOL, (double)(th_now_us() - t_start) / 1e6,
		st.live, st.est_live, st.est_max, st.accepted,
		st.handshake_failures, st.closed, st.msgs_echoed, pl,
		ql, st.reloads);
}

static void
sul_stats_cb(lws_sorted_usec_list_t *sul)
{
	print_stats();
	lws_sul_schedule(context, 0, &sul_stats, sul_stats_cb,
			 (lws_usec_t)(opt.stats_interval * LWS_US_PER_SEC));
}

static int
copy_file(const char *from, const char *to)
{
	size_t len;
	char *b = th_lws_read_file(from, &len);
	FILE *f;
	int ok;

	if (!b)
		return -1;
	f = fopen(to, "wb");
	if (!f) {
		free(b);
		return -1;
	}
	ok = fwrite(b, 1, len, f) == len;
	ok = !fclose(f) && ok;
	free(b);

	return ok ? 0 : -1;
}

static void
do_reload(void)
{
	struct reload_rec *rr = reload_log_n < MAX_RELOAD_LOG ?
				&reload_log[reload_log_n] : NULL;
	int use_reload = (st.reloads % 2) == 0, ret;
	const char *c_src = use_reload ? opt.reload_cert : opt.cert;
	const char *k_src = use_reload ? opt.reload_key : opt.key;
	char *mc = NULL, *mk = NULL;
	size_t mcl = 0, mkl = 0;
	th_errq_look_t d;
	int n;

	if (opt.reload_mem) {
		/* working files absent: lws takes its memory-image path */
		unlink(wcert);
		unlink(wkey);
		if (use_reload) {
			mc = th_lws_read_file(c_src, &mcl);
			mk = th_lws_read_file(k_src, &mkl);
		} else {
			mc = orig_cert_mem;
			mcl = orig_cert_len;
			mk = orig_key_mem;
			mkl = orig_key_len;
		}
	} else {
		/* a missing source makes the working file missing too */
		if (copy_file(c_src, wcert))
			unlink(wcert);
		if (copy_file(k_src, wkey))
			unlink(wkey);
	}

	/* measure only what lws_tls_cert_updated() leaves */
	if (opt.check_queue)
		check_queue_after_service();
	ret = lws_tls_cert_updated(context, wcert, wkey, mc, mcl, mk, mkl);

	/* counted always; put back unless --check-queue */
	n = th_errq_check_measure(&errq, SITE_RELOAD, &d);

	st.reloads++;
	if (ret)
		st.reload_ret_nonzero++;
	st.reload_entries_total += (unsigned long)n;
	st.reload_lws_entries_total += (unsigned long)d.lws_n;
	if (rr) {
		rr->idx = st.reloads;
		rr->set = use_reload ? "reload" : "original";
		rr->ret = ret;
		rr->entries = n;
		rr->lws_entries = d.lws_n;
		snprintf(rr->first, sizeof(rr->first), "%s", d.first);
		reload_log_n++;
	}
	lwsl_user("reload %lu (%s set, %s): lws_tls_cert_updated() = %d, "
		  "%d queue entries left\n", st.reloads,
		  use_reload ? "reload" : "original",
		  opt.reload_mem ? "memory" : "file", ret, n);

	if (use_reload && opt.reload_mem) {
		free(mc);
		free(mk);
	}
}

static void
sul_reload_cb(lws_sorted_usec_list_t *sul)
{
	do_reload();
	lws_sul_schedule(context, 0, &sul_reload, sul_reload_cb,
			 (lws_usec_t)opt.reload_ms * LWS_US_PER_MS);
}

/* ---- summary ------------------------------------------------------------ */

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* accept-to-end times of failed handshakes: count, median, max */
static void
json_hs_fail_times(th_json_t *j, const char *key)
{
	double median = 0;

	if (n_hs_fail_ms) {
		qsort(hs_fail_ms, n_hs_fail_ms, sizeof(*hs_fail_ms), cmp_float);
		median = n_hs_fail_ms % 2 ? hs_fail_ms[n_hs_fail_ms / 2] :
			 ((double)hs_fail_ms[n_hs_fail_ms / 2 - 1] +
			  hs_fail_ms[n_hs_fail_ms / 2]) / 2;
	}
	th_json_obj_open(j, key);
	th_json_uint(j, "count", n_hs_fail_ms + hs_fail_ms_dropped);
	/* floats: round to the microsecond */
	th_json_double(j, "median", (double)(long long)(median * 1e3 + 0.5) / 1e3);
	th_json_double(j, "max", (double)(long long)(hs_fail_ms_max * 1e3 + 0.5) / 1e3);
	/* the median is over the first MAX_HS_FAIL_SAMPLES only */
	th_json_uint(j, "not_sampled", hs_fail_ms_dropped);
	th_json_obj_close(j);
}

static void
write_summary(void)
{
	char nb[32];
	th_json_t j;
	FILE *f;
	int i;

	if (!opt.json_path)
		return;
	f = th_open_output(opt.json_path);
	th_json_init(&j, f);
	th_json_obj_open(&j, NULL);
	th_lws_json_header(&j, TOOL, opt.seed);
	th_json_bool(&j, "tls", !opt.no_tls);
	th_json_int(&j, "port", opt.port);
	th_json_double(&j, "elapsed_s", (double)(th_now_us() - t_start) / 1e6);

	th_json_obj_open(&j, "connections");
	th_json_uint(&j, "accepted", st.accepted);
	th_json_uint(&j, "rejected", st.rejected_max_conns);
	th_json_uint(&j, "established", st.established);
	th_json_uint(&j, "closed", st.closed);
	th_json_uint(&j, "handshake_failures", st.handshake_failures);
	th_json_uint(&j, "max_concurrent_sockets", st.live_max);
	th_json_uint(&j, "max_concurrent_established", st.est_max);
	json_hs_fail_times(&j, "handshake_failure_ms");
	th_json_obj_close(&j);

	/* lws-hardened only; null on vanilla builds (no such API) */
	th_json_bool(&j, "close_cause_api", th_lws_have_close_cause());
	th_end_tab_json(&j, "ends_by_cause", "first_tls_errors", &ends_tab);
	th_lws_counters_json(&j, "hardened_counters", &counters);

	th_json_obj_open(&j, "close_reasons");
	th_json_uint(&j, "peer_ws_close", st.close_peer_ws);
	th_json_uint(&j, "server_initiated", st.close_by_server);
	th_json_uint(&j, "abrupt", st.close_abrupt);
	th_json_obj_open(&j, "peer_close_codes");
	for (i = 0; i < 16; i++)
		if (st.close_codes[i]) {
			snprintf(nb, sizeof(nb), "%d", 1000 + i);
			th_json_uint(&j, nb, st.close_codes[i]);
		}
	th_json_obj_close(&j);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "messages");
	th_json_uint(&j, "echoed", st.msgs_echoed);
	th_json_uint(&j, "large_responses", st.large_responses);
	th_json_uint(&j, "too_big", st.msgs_too_big);
	th_json_uint(&j, "bytes_rx", st.bytes_rx);
	th_json_uint(&j, "bytes_tx", st.bytes_tx);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "tls_sessions");
	th_json_uint(&j, "reused", st.session_reused);
	th_json_uint(&j, "forgotten_at_established", st.forgotten_at);
	th_json_uint(&j, "full", st.session_full);
	th_json_uint(&j, "unknown", st.session_unknown);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "plants");
	th_json_uint(&j, "every", opt.plant_every);
	for (i = 0; i < PL_COUNT; i++)
		if (opt.plant_mask & (1u << i)) {
			th_json_obj_open(&j, plant_names[i]);
			th_json_uint(&j, "events", st.plant_events[i]);
			th_json_uint(&j, "planted", st.plants[i]);
			th_json_obj_close(&j);
		}
	th_json_obj_close(&j);
	th_json_uint(&j, "ssl_info_events", st.ssl_info_events);
	th_json_uint(&j, "client_cert_verify_calls", st.verify_calls);

	th_errq_check_json(&j, "error_queue", &errq);

	th_json_obj_open(&j, "cert_reload");
	th_json_uint(&j, "count", st.reloads);
	th_json_str(&j, "mode", opt.reload_mem ? "memory" : "file");
	th_json_uint(&j, "nonzero_returns", st.reload_ret_nonzero);
	th_json_uint(&j, "entries_left_total", st.reload_entries_total);
	th_json_uint(&j, "lws_entries_left_total", st.reload_lws_entries_total);
	th_json_arr_open(&j, "log");
	for (i = 0; i < reload_log_n; i++) {
		th_json_obj_open(&j, NULL);
		th_json_uint(&j, "n", reload_log[i].idx);
		th_json_str(&j, "set", reload_log[i].set);
		th_json_int(&j, "ret", reload_log[i].ret);
		th_json_int(&j, "entries_left", reload_log[i].entries);
		th_json_int(&j, "lws_entries_left", reload_log[i].lws_entries);
		th_json_str(&j, "first", reload_log[i].first[0] ?
				reload_log[i].first : NULL);
		th_json_obj_close(&j);
	}
	th_json_arr_close(&j);
	th_json_obj_close(&j);

	th_json_obj_close(&j);
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
}

/* ---- options ------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " [options]\n"
"wss / ws echo server for lws stress tests (one context, one thread).\n"
"\n"
"  --port N               listen port (default 7681; 0 = any, see --ready-file)\n"
"  --iface ADDR           bind address (default 127.0.0.1)\n"
"  --cert FILE --key FILE server certificate and key (PEM)\n"
"  --ca FILE              CA for client certificates\n"
"  --require-client-cert  clients must present a cert signed by --ca\n"
"  --no-tls               plain ws\n"
"  --no-resume            never resume TLS sessions (no tickets, no cache)\n"
"  --forget-sessions-after N  after the Nth established connection, forget\n"
"                         every session: new ticket keys, empty cache (a\n"
"                         server restarted with new keys)\n"
"  --duration S           run S seconds then exit (default: until signal)\n"
"  --max-conns N          refuse sockets beyond N concurrent ones\n"
"  --seed N               seed for generated payloads (default 0)\n"
"  --plant WHERE          push a stale OpenSSL error (ERR_LIB_USER, reason\n"
"                         0x%x+tag) from WHERE; repeatable.  WHERE is one of\n"
"                         ssl-info-handshake (SSL_INFO handshake start/done),\n"
"                         ssl-info-all (every SSL_INFO event, broad mask),\n"
"                         ssl-info-established (SSL_INFO events on connections\n"
"                         already ESTABLISHED, e.g. KeyUpdate), verify (client\n"
"                         cert verification; needs --require-client-cert),\n"
"                         timer, writeable, receive, established, closed\n"
"  --plant-every N        plant on every Nth event of each place (default 1)\n"
"  --plant-interval-ms N  timer plant period (default 10)\n"
"  --check-queue          at the start of every callback and after every\n"
"                         lws_service()/lws_tls_cert_updated() return, log,\n"
"                         count and clear queue entries (planted vs lws-left);\n"
"                         inside callbacks run from an SSL call it only counts\n"
"  --reload-certs-ms N    every N ms call lws_tls_cert_updated(), alternating\n"
"                         the --reload-cert/--reload-key set and the original\n"
"  --reload-cert FILE     cert for reloads (may be missing or mismatched)\n"
"  --reload-key FILE      key for reloads (may be missing, mismatched, EC)\n"
"  --reload-mode M        mem (default: memory images, lws's DER/RSA-then-EC\n"
"                         path) or file (files copied over the vhost's paths)\n"
"  --validity-ping S      ws PING after S idle seconds (retry policy)\n"
"  --validity-pong-timeout S  hang up after S seconds without validity\n"
"  --timeout-secs N       context timeout_secs\n"
"  --echo-delay-ms N      delay each echo by N ms (slow server)\n"
"  --large-response BYTES answer a \"LARGE\" text message (or a header with the\n"
"                         want-large flag) with one BYTES-long binary message\n"
"                         sent in 32 KiB fragments through WRITEABLE\n"
"  --max-msg BYTES        largest accepted message (default 16 MiB)\n"
"  --stats-interval S     status line to stderr every S s (0 = off, default 1)\n"
"  --json FILE            final JSON summary ('-' = stdout); it has\n"
"                         connections.handshake_failure_ms (accept to end of\n"
"                         failed handshakes), and built against lws-hardened\n"
"                         ends_by_cause (TLS connection ends by close cause),\n"
"                         first_tls_errors (distinct first TLS error texts)\n"
"                         and hardened_counters; null on vanilla builds\n"
"  --ready-file PATH      write the listening port to PATH once listening\n"
"  --debug LEVEL          lws log level: number or list (err,warn,notice,...)\n"
"  --no-abortive-close   dead links close like vanilla 4.3.5 (ws close,\n"
"                         close_notify, FIN): lws_hardened_abortive_close(0)\n"
"  --help                 this text\n"
"\n"
"Exit status: 0 normal end, 2 usage or setup error.\n",
		TH_PLANT_REASON_BASE);
}

enum {
	O_PORT = 256, O_IFACE, O_CERT, O_KEY, O_CA, O_REQ_CC, O_NO_TLS, O_NO_RESUME,
	O_FORGET,
	O_DURATION, O_MAX_CONNS, O_SEED, O_PLANT, O_PLANT_EVERY,
	O_PLANT_INTERVAL, O_CHECK_QUEUE, O_RELOAD_MS, O_RELOAD_CERT,
	O_RELOAD_KEY, O_RELOAD_MODE, O_VPING, O_VPONG, O_TIMEOUT_SECS,
	O_ECHO_DELAY, O_LARGE, O_MAX_MSG, O_STATS, O_JSON, O_READY, O_DEBUG,
	O_NO_ABORTIVE, O_HELP
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, O_PORT },
	{ "iface", required_argument, NULL, O_IFACE },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "ca", required_argument, NULL, O_CA },
	{ "require-client-cert", no_argument, NULL, O_REQ_CC },
	{ "no-tls", no_argument, NULL, O_NO_TLS },
	{ "no-resume", no_argument, NULL, O_NO_RESUME },
	{ "forget-sessions-after", required_argument, NULL, O_FORGET },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "max-conns", required_argument, NULL, O_MAX_CONNS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "plant", required_argument, NULL, O_PLANT },
	{ "plant-every", required_argument, NULL, O_PLANT_EVERY },
	{ "plant-interval-ms", required_argument, NULL, O_PLANT_INTERVAL },
	{ "check-queue", no_argument, NULL, O_CHECK_QUEUE },
	{ "reload-certs-ms", required_argument, NULL, O_RELOAD_MS },
	{ "reload-cert", required_argument, NULL, O_RELOAD_CERT },
	{ "reload-key", required_argument, NULL, O_RELOAD_KEY },
	{ "reload-mode", required_argument, NULL, O_RELOAD_MODE },
	{ "validity-ping", required_argument, NULL, O_VPING },
	{ "validity-pong-timeout", required_argument, NULL, O_VPONG },
	{ "timeout-secs", required_argument, NULL, O_TIMEOUT_SECS },
	{ "echo-delay-ms", required_argument, NULL, O_ECHO_DELAY },
	{ "large-response", required_argument, NULL, O_LARGE },
	{ "max-msg", required_argument, NULL, O_MAX_MSG },
	{ "stats-interval", required_argument, NULL, O_STATS },
	{ "json", required_argument, NULL, O_JSON },
	{ "ready-file", required_argument, NULL, O_READY },
	{ "debug", required_argument, NULL, O_DEBUG },
	{ "no-abortive-close", no_argument, NULL, O_NO_ABORTIVE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static void
parse_args(int argc, char **argv)
{
	int c, i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			opt.port = (int)th_parse_ll("--port", optarg, 0, 65535);
			break;
		case O_IFACE: opt.iface = optarg; break;
		case O_CERT: opt.cert = optarg; break;
		case O_KEY: opt.key = optarg; break;
		case O_CA: opt.ca = optarg; break;
		case O_REQ_CC: opt.require_client_cert = 1; break;
		case O_NO_TLS: opt.no_tls = 1; break;
		case O_NO_RESUME: opt.no_resume = 1; break;
		case O_FORGET:
			opt.forget_after = (unsigned long)th_parse_ll(
				"--forget-sessions-after", optarg, 1, 1000000000);
			break;
		case O_DURATION:
			opt.duration = th_parse_double("--duration", optarg,
						       0.1, 86400 * 7);
			break;
		case O_MAX_CONNS:
			opt.max_conns = (int)th_parse_ll("--max-conns", optarg,
							 1, 1000000);
			break;
		case O_SEED:
			opt.seed = (uint64_t)th_parse_ll("--seed", optarg, 0,
							 LLONG_MAX);
			break;
		case O_PLANT:
			for (i = 0; i < PL_COUNT; i++)
				if (!strcmp(optarg, plant_names[i]))
					break;
			if (i == PL_COUNT)
				th_die("--plant: unknown place '%s' (see --help)",
				       optarg);
			opt.plant_mask |= 1u << i;
			break;
		case O_PLANT_EVERY:
			opt.plant_every = (unsigned long)th_parse_ll(
					"--plant-every", optarg, 1, 1000000000);
			break;
		case O_PLANT_INTERVAL:
			opt.plant_interval_ms = (int)th_parse_ll(
					"--plant-interval-ms", optarg, 1, 3600000);
			break;
		case O_CHECK_QUEUE: opt.check_queue = 1; break;
		case O_RELOAD_MS:
			opt.reload_ms = (int)th_parse_ll("--reload-certs-ms",
							 optarg, 1, 3600000);
			break;
		case O_RELOAD_CERT: opt.reload_cert = optarg; break;
		case O_RELOAD_KEY: opt.reload_key = optarg; break;
		case O_RELOAD_MODE:
			if (!strcmp(optarg, "mem"))
				opt.reload_mem = 1;
			else if (!strcmp(optarg, "file"))
				opt.reload_mem = 0;
			else
				th_die("--reload-mode: expected mem or file, "
				       "got '%s'", optarg);
			break;
		case O_VPING:
			opt.validity_ping = (int)th_parse_ll("--validity-ping",
							     optarg, 1, 65535);
			break;
		case O_VPONG:
			opt.validity_hangup = (int)th_parse_ll(
				"--validity-pong-timeout", optarg, 1, 65535);
			break;
		case O_TIMEOUT_SECS:
			opt.timeout_secs = (int)th_parse_ll("--timeout-secs",
							    optarg, 1, 86400);
			break;
		case O_ECHO_DELAY:
			opt.echo_delay_ms = (int)th_parse_ll("--echo-delay-ms",
							     optarg, 0, 600000);
			break;
		case O_LARGE:
			opt.large_response = (size_t)th_parse_ll(
				"--large-response", optarg, TH_MSG_HDR_LEN,
				256ll << 20);
			break;
		case O_MAX_MSG:
			opt.max_msg = (size_t)th_parse_ll("--max-msg", optarg,
							  1, 256ll << 20);
			break;
		case O_STATS:
			opt.stats_interval = th_parse_double("--stats-interval",
							     optarg, 0, 3600);
			break;
		case O_JSON: opt.json_path = optarg; break;
		case O_READY: opt.ready_file = optarg; break;
		case O_DEBUG:
			opt.debug = th_lws_parse_debug("--debug", optarg);
			break;
		case O_NO_ABORTIVE: opt.no_abortive_close = 1; break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			th_die_bad_option(c, argv);
		}
	}
	th_die_extra_args(argc, argv);

	if (opt.no_tls && (opt.cert || opt.key || opt.ca ||
			   opt.require_client_cert || opt.reload_ms))
		th_die("--no-tls excludes --cert/--key/--ca/"
		       "--require-client-cert/--reload-certs-ms");
	if (opt.no_tls && (opt.plant_mask & ((1u << PL_SSL_INFO_HS) |
			(1u << PL_SSL_INFO_ALL) | (1u << PL_SSL_INFO_EST) |
			(1u << PL_VERIFY))))
		th_die("--plant ssl-info-*/verify need TLS");
	if (opt.plant_mask)
		th_lws_require_ossl("--plant");
	if (opt.check_queue)
		th_lws_require_ossl("--check-queue");
	if (opt.no_resume)
		th_lws_require_ossl("--no-resume");
	if (opt.no_resume && opt.no_tls)
		th_die("--no-resume needs TLS");
	if (opt.forget_after)
		th_lws_require_ossl("--forget-sessions-after");
	if (opt.forget_after && opt.no_tls)
		th_die("--forget-sessions-after needs TLS");
	if ((opt.plant_mask & (1u << PL_VERIFY)) && !opt.require_client_cert)
		th_die("--plant verify needs --require-client-cert");
	if (!!opt.reload_cert != !!opt.reload_key)
		th_die("--reload-cert and --reload-key go together");
	if (opt.reload_ms && !opt.reload_cert)
		th_die("--reload-certs-ms needs --reload-cert and --reload-key");
	if (!opt.reload_ms && opt.reload_cert)
		th_die("--reload-cert/--reload-key need --reload-certs-ms");
	if (opt.validity_hangup && !opt.validity_ping)
		th_die("--validity-pong-timeout needs --validity-ping");
	if (opt.validity_ping && opt.validity_hangup &&
	    opt.validity_hangup <= opt.validity_ping)
		th_die("--validity-pong-timeout must exceed --validity-ping");
	if (opt.port == 0 && !opt.ready_file)
		th_warn("--port 0 without --ready-file: nobody learns the port");
}

/* ---- main --------------------------------------------------------------- */

static void
setup_workdir(void)
{
	/* lws_tls_cert_updated() reloads the vhost's own paths: use copies */
	snprintf(workdir, sizeof(workdir), "%s/lws-stress-server.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(workdir))
		th_die("mkdtemp %s: %s", workdir, strerror(errno));
	snprintf(wcert, sizeof(wcert), "%s/cert.pem", workdir);
	snprintf(wkey, sizeof(wkey), "%s/key.pem", workdir);
	if (copy_file(opt.cert, wcert) || copy_file(opt.key, wkey))
		th_die("cannot copy --cert/--key into %s", workdir);
	orig_cert_mem = th_lws_read_file(opt.cert, &orig_cert_len);
	orig_key_mem = th_lws_read_file(opt.key, &orig_key_len);
	if (!orig_cert_mem || !orig_key_mem)
		th_die("cannot read --cert/--key");
}

static void
cleanup_workdir(void)
{
	if (!workdir[0])
		return;
	unlink(wcert);
	unlink(wkey);
	rmdir(workdir);
	free(orig_cert_mem);
	free(orig_key_mem);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	static lws_retry_bo_t retry;
	uint64_t t_end = 0, t_stop = 0;
	struct conn *c;
	int n = 0;

	th_set_progname(argv[0]);
	parse_args(argc, argv);
	th_lws_log_init(opt.debug);
	th_lws_signals_install();
	th_lws_raise_nofile(0);
	{
		static const char * const sites[] = {
			SITE_SERVICE, SITE_RELOAD, NULL
		};

		th_errq_check_init(&errq, opt.check_queue, sites);
	}

	memset(&info, 0, sizeof(info));
	info.port = opt.port;
	info.iface = opt.iface ? opt.iface : "127.0.0.1";
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	if (!opt.no_tls) {
		if (opt.reload_ms) {
			th_lws_check_readable("--cert", opt.cert ? opt.cert : "");
			th_lws_check_readable("--key", opt.key ? opt.key : "");
			setup_workdir();
			th_lws_tls_server_info(&info, wcert, wkey, opt.ca,
					       opt.require_client_cert);
			/*
			 * mem mode removes the vhost's files before each reload:
			 * only with this option does lws then use the images
			 */
			if (opt.reload_mem)
				info.options |= LWS_SERVER_OPTION_IGNORE_MISSING_CERT;
		} else
			th_lws_tls_server_info(&info, opt.cert, opt.key, opt.ca,
					       opt.require_client_cert);
	}
#if defined(TH_HAVE_OSSL_API)
	if (opt.plant_mask & (1u << PL_SSL_INFO_HS))
		info.ssl_info_event_mask |= SSL_CB_HANDSHAKE_START |
					    SSL_CB_HANDSHAKE_DONE | SSL_CB_ALERT;
	if (opt.plant_mask & ((1u << PL_SSL_INFO_ALL) | (1u << PL_SSL_INFO_EST)))
		info.ssl_info_event_mask |= 0x7fff; /* every SSL_CB_* bit */
#endif
	if (opt.validity_ping) {
		retry.secs_since_valid_ping = (uint16_t)opt.validity_ping;
		retry.secs_since_valid_hangup = (uint16_t)(opt.validity_hangup ?
				opt.validity_hangup : opt.validity_ping + 10);
		info.retry_and_idle_policy = &retry;
	}
	if (opt.timeout_secs)
		info.timeout_secs = (unsigned int)opt.timeout_secs;
#if defined(TH_HAVE_OSSL_API)
	if (opt.no_resume)
		info.ssl_options_set |= (long)SSL_OP_NO_TICKET;
#endif

	context = lws_create_context(&info);
	if (!context) {
		cleanup_workdir();
		th_die("lws_create_context failed (port %d busy? bad cert?)",
		       opt.port);
	}
	th_lws_signals_set_context(context);
	if (opt.no_abortive_close)
		th_lws_no_abortive_close(context);
	serving = 1;
	t_start = th_now_us();
	if (opt.duration > 0)
		t_end = t_start + (uint64_t)(opt.duration * 1e6);

	if (opt.port == 0) {
		struct lws_vhost *vh = lws_get_vhost_by_name(context, "default");

		if (vh)
			opt.port = lws_get_vhost_listen_port(vh);
	}
	if (opt.ready_file && th_lws_write_ready_file(opt.ready_file, opt.port))
		th_warn("cannot write --ready-file %s", opt.ready_file);
	lwsl_user("%s: listening on %s:%d (%s)\n", TOOL, info.iface, opt.port,
		  opt.no_tls ? "ws" : "wss");

	lws_sul_schedule(context, 0, &sul_tick, sul_tick_cb, 100 * LWS_US_PER_MS);
	if (opt.plant_mask & (1u << PL_TIMER))
		lws_sul_schedule(context, 0, &sul_plant, sul_plant_cb,
			 (lws_usec_t)opt.plant_interval_ms * LWS_US_PER_MS);
	if (opt.stats_interval > 0)
		lws_sul_schedule(context, 0, &sul_stats, sul_stats_cb,
			 (lws_usec_t)(opt.stats_interval * LWS_US_PER_SEC));
	if (opt.reload_ms)
		lws_sul_schedule(context, 0, &sul_reload, sul_reload_cb,
				 (lws_usec_t)opt.reload_ms * LWS_US_PER_MS);

	while (n >= 0) {
		uint64_t now = th_now_us();

		if (!stopping && (th_lws_interrupted() || (t_end && now >= t_end))) {
			/* say goodbye to every ws connection, then give up to 1s */
			stopping = 1;
			t_stop = now + LWS_US_PER_SEC;
			lws_sul_cancel(&sul_plant);
			lws_sul_cancel(&sul_reload);
			for (c = conns; c; c = c->next)
				if (c->established) {
					c->closing_by_us = 1;
					lws_callback_on_writable(c->wsi);
				}
		}
		if (stopping && (now >= t_stop || !st.est_live))
			break;
		n = lws_service(context, 0);
		check_queue_after_service();
	}

	lws_sul_cancel(&sul_tick);
	lws_sul_cancel(&sul_stats);
	lws_sul_cancel(&sul_plant);
	lws_sul_cancel(&sul_reload);
	th_lws_counters_snap(&counters, context);
	lws_context_destroy(context);
	th_lws_signals_set_context(NULL);
	while (conns)	/* lws reported no destroy for these: still free them */
		conn_destroy(conns, NULL);
	if (opt.stats_interval > 0)
		print_stats();
	write_summary();
	cleanup_workdir();
	free(hs_fail_ms);

	return 0;
}
