/*
 * lws-stress-client: N concurrent ws / wss clients for the lws-hardened tests
 *
 * One lws context, one thread.  Every connection sends messages carrying a
 * header {connection id, attempt, sequence, length, crc32} and checks the
 * echo: lost, corrupted, duplicated and out-of-order messages are counted,
 * and every round trip is timed (p50 / p99 on the status lines, JSON rtt_us).
 * Every connection end is classified:
 *
 *   INTENDED    the test closed it (--close-after, --messages-per-conn, end)
 *   FAULTED     lws-faultproxy reported a fault on that connection's local
 *               port (--proxy-events)
 *   COLLATERAL  anything else: a healthy connection died, or a handshake
 *               failed on a connection nobody faulted
 *
 * Exit status: 0 clean, 1 collateral ends / message errors / resumption
 * below --expect-resume-min, 2 usage or setup error.
 */
#include "th-lws.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(TH_TLS_BACKEND_openssl)
#include <openssl/ssl.h>
#include <openssl/pem.h>
#endif

#define TOOL "lws-stress-client"
#define MAX_MISSING 64
#define MAX_REASONS 64
#define MAX_COLLATERAL_LOG 10
#define CONNECT_BATCH 50
#define CONNECT_TICK_MS 5

/* ---- options ------------------------------------------------------------ */

static struct {
	char		host[256];
	int		port;
	const char	*path;
	int		no_tls, insecure;
	const char	*ca, *cert, *key;
	int		cert_from_blob;	/* --cert-from-blob */
	int		no_abortive_close;
	int		no_session_cache;	/* --no-session-cache */
	int		dump_roundtrip;		/* --session-dump-roundtrip */
	int		start_together;		/* --start-together */
	int		conns;
	unsigned long	msgs_per_conn;
	double		duration;
	size_t		msg_min, msg_max;
	double		rate;		/* msgs/s per connection, 0 = window */
	int		window;
	uint64_t	seed;
	int		reconnect;
	int		reconnect_delay_ms;
	unsigned long	max_reconnects;
	unsigned long	close_after;
	unsigned long	key_update;
	int		tls_max;	/* 0, 12, 13 */
	int		large_request;
	int		slow_read_ms;
	const char	*proxy_events;
	const char	*json_path;
	double		expect_resume_min; /* <0: not checked */
	int		drain_ms;
	double		stats_interval;
	int		debug;
	int		max_fragment;
	int		validity_ping, validity_hangup;
	unsigned long	attempt_log;	/* attempts listed in the JSON */
	int		check_queue;
	int		connect_stall_ms;
	double		max_time;	/* hard limit on the whole run */
	unsigned int	plant_mask;	/* --plant places */
	int		plant_interval_ms;
} opt = {
	.host = "127.0.0.1",
	.port = 7681,
	.path = "/",
	.conns = 1,
	.msg_min = 64,
	.msg_max = 64,
	.window = 1,
	.reconnect_delay_ms = 10,
	.expect_resume_min = -1,
	.max_time = 600,
	.drain_ms = 5000,
	.stats_interval = 1.0,
	.debug = TH_LWS_LOG_DEFAULT,
	.plant_interval_ms = 10,
};

/* --plant places: stale OpenSSL errors left from ordinary code (Q3) */
enum { PL_BEFORE_CONNECT, PL_TIMER, PL_WRITEABLE, PL_COUNT };
static const char * const plant_names[PL_COUNT] = {
	"before-connect", "timer", "writeable",
};
static unsigned long plants[PL_COUNT];

/* ---- connection slots and attempt records ------------------------------- */

enum { SL_IDLE, SL_CONNECTING, SL_ESTABLISHED, SL_WAIT, SL_DONE };
enum { END_HS_FAIL, END_CLOSED };
enum { CL_INTENDED, CL_FAULTED, CL_COLLATERAL, CL_COUNT };
static const char * const class_names[CL_COUNT] = {
	"intended", "faulted", "collateral"
};

/* send time of an in-flight message, kept at ring index seq % --window */
struct inflight {
	uint64_t	t_us;
	uint32_t	seq;
};

struct slot {
	uint32_t	id;
	int		state;
	struct lws	*wsi;
	uint32_t	attempt;	/* attempts started so far - 1 */
	unsigned long	reconnects;
	unsigned long	total_recv;	/* over the slot's life */
	/* current attempt */
	int		port;
	uint64_t	connect_seq;
	int		intended;
	int		forced;		/* closed by the end-of-run deadline */
	int		resumed;
	int		peer_close_code;
	uint32_t	seq_send, seq_expect;
	unsigned long	sent, recv, corrupted, dup, ooo, large_ok;
	uint32_t	missing[MAX_MISSING];
	int		n_missing;
	unsigned long	lost_early;	/* missing-list overflow */
	uint64_t	next_send_us;
	unsigned long	key_updates;
	uint8_t		*rx;
	size_t		rx_len, rx_cap;
	uint8_t		*tx;
	size_t		tx_cap;
	struct inflight	*inflight;	/* --window entries, for round trips */
	th_rng_t	rng;
	lws_sorted_usec_list_t sul;	/* reconnect / rate / slow read */
	int		rx_paused;
	double		t_start;
	int		in_connect;	/* inside lws_client_connect_via_info() */
};

struct attempt_rec {
	uint32_t	slot, attempt;
	int		port;
	uint64_t	connect_seq;
	uint8_t		kind, established, intended, forced;
	int8_t		resumed;
	int8_t		offered;	/* sessions offered, -1 unknown */
	uint8_t		faulted, cls;
	uint16_t	reason;
	uint8_t		cause;		/* causes[] index, CAUSE_NONE: no API */
	uint16_t	tls_error;	/* tls_errors[] index, TLS_ERR_NONE */
	int16_t		alert;		/* TLS alert that ended it, -1 none */
	unsigned long	sent, recv, lost, corrupted, dup, ooo;
	float		t_start, t_end;
};

static struct slot *slots;
static struct inflight *inflight;	/* the slots' rings, one block */
static struct attempt_rec *recs;
static size_t n_recs, cap_recs;
static unsigned long recs_dropped;
#define MAX_RECS 4000000

static char *reasons[MAX_REASONS];
static int n_reasons;

/*
 * Why attempts ended (lws-hardened close-cause API; unused on vanilla
 * builds): cause names (the library's static strings) and first TLS error
 * texts, interned for the attempt records, and tallied for the summary.
 */
#define MAX_CAUSES 32
#define CAUSE_NONE 0xff
#define MAX_TLS_ERRORS 256
#define TLS_ERR_NONE 0xffff
static const char *causes[MAX_CAUSES];
static int n_causes;
static char *tls_errors[MAX_TLS_ERRORS];
static int n_tls_errors;
static th_end_tab_t ends_tab;
static th_ctr_snap_t counters;

static struct lws_context *context;
static struct lws_vhost *vhost;
static int stopping, hit_max_time, destroying;
static int sockets_before_context = -1, sockets_after_destroy = -1;
static uint64_t t_start, t_stop, connect_seq_next = 1;
static int next_to_connect, active;
static lws_sorted_usec_list_t sul_connect, sul_tick, sul_stats, sul_plant;

/* --check-queue: th-lws queue checker, sites after our lws API calls */
#define SITE_SERVICE	"after lws_service"
#define SITE_CONNECT	"after lws_client_connect_via_info"
#define SITE_CREATE	"after lws_create_context"
static th_errq_check_t errq;

static struct {
	unsigned long	attempts, hs_ok, hs_fail, ends;
	unsigned long	sent, recv, large_ok;
	unsigned long	key_updates, key_update_failed, key_update_skipped;
	unsigned long	resumed, resumed_reconn, est_reconn;
	unsigned long	connect_api_fail;
	unsigned long	destroyed_unreported; /* WSI_DESTROY, no CCE/CLOSED */
	unsigned long	port_unknown;
	int		proxy_events_ok;
	unsigned long	proxy_lines, proxy_faults;
} st;

/* ---- helpers ------------------------------------------------------------ */

static double
elapsed_s(void)
{
	return (double)(th_now_us() - t_start) / 1e6;
}

static uint16_t
reason_idx(const char *s)
{
	int i;

	if (!s || !*s)
		s = "(none)";
	for (i = 0; i < n_reasons; i++)
		if (!strcmp(reasons[i], s))
			return (uint16_t)i;
	if (n_reasons == MAX_REASONS - 1) {
		if (!reasons[n_reasons])
			reasons[n_reasons] = strdup("(other reasons)");
		return (uint16_t)n_reasons;
	}
	reasons[n_reasons] = strdup(s);
	if (!reasons[n_reasons])
		th_die("out of memory");

	return (uint16_t)n_reasons++;
}

static uint8_t
cause_idx(const char *cause)
{
	int i;

	if (!cause)
		return CAUSE_NONE;
	for (i = 0; i < n_causes; i++)
		if (!strcmp(causes[i], cause))
			return (uint8_t)i;
	if (n_causes == MAX_CAUSES)
		return CAUSE_NONE;
	causes[n_causes] = cause;

	return (uint8_t)n_causes++;
}

static uint16_t
tls_error_idx(const char *text)
{
	int i;

	if (!text || !*text)
		return TLS_ERR_NONE;
	for (i = 0; i < n_tls_errors; i++)
		if (!strcmp(tls_errors[i], text))
			return (uint16_t)i;
	if (n_tls_errors == MAX_TLS_ERRORS - 1) {
		if (!tls_errors[n_tls_errors])
			tls_errors[n_tls_errors] =
				strdup("(more distinct TLS errors than kept)");
		return (uint16_t)n_tls_errors;
	}
	tls_errors[n_tls_errors] = strdup(text);
	if (!tls_errors[n_tls_errors])
		th_die("out of memory");

	return (uint16_t)n_tls_errors++;
}

static void
plant(int place)
{
	if (!(opt.plant_mask & (1u << place)))
		return;
	/* each place is its own call site: lws-hardened logs each origin */
	switch (place) {
	case PL_BEFORE_CONNECT:
		if (!th_errq_plant(place))
			plants[place]++;
		break;
	case PL_TIMER:
		if (!th_errq_plant(place))
			plants[place]++;
		break;
	default:
		if (!th_errq_plant(place))
			plants[place]++;
		break;
	}
}

static size_t
pick_size(struct slot *s)
{
	if (opt.msg_max == opt.msg_min)
		return opt.msg_min;

	return opt.msg_min + (size_t)th_rng_below(&s->rng,
				(uint64_t)(opt.msg_max - opt.msg_min + 1));
}

static void start_connect(struct slot *s);

/* ---- round-trip times --------------------------------------------------- */

/*
 * Round trips (send -> echo) in microseconds, in a log-linear histogram of
 * fixed size: exact below 2^RTT_SUB_BITS us, then 2^RTT_SUB_BITS buckets
 * per power of two, each at most 1/32 (3.1 %) of its value wide, up to
 * 2^RTT_TOP_BITS us (67 s); longer ones land in the last bucket.  A
 * quantile is its bucket's middle (within 1.6 %), never above the exact max.
 */
#define RTT_SUB_BITS	5
#define RTT_SUB		(1u << RTT_SUB_BITS)
#define RTT_TOP_BITS	26
#define RTT_BUCKETS	((RTT_TOP_BITS - RTT_SUB_BITS + 1) * RTT_SUB)

typedef struct {
	uint64_t	n, max;
	uint64_t	b[RTT_BUCKETS];
} rtt_hist_t;

/* rtt_iv: since the previous status line; rtt_all: the whole run */
static rtt_hist_t rtt_iv, rtt_all;
/* echoes counted in st.recv without a round trip (see rtt_sample()) */
static unsigned long rtt_not_sampled;

static unsigned int
rtt_bucket(uint64_t us)
{
	unsigned int shift;

	if (us < RTT_SUB)
		return (unsigned int)us;
	if (us >> RTT_TOP_BITS)
		return RTT_BUCKETS - 1;
	shift = 63u - (unsigned int)__builtin_clzll(us) - RTT_SUB_BITS;

	return (shift + 1) * RTT_SUB + (unsigned int)(us >> shift) - RTT_SUB;
}

static uint64_t
rtt_bucket_mid(unsigned int i)
{
	unsigned int shift;

	if (i < RTT_SUB)
		return i;
	shift = i / RTT_SUB - 1;

	return ((uint64_t)(i % RTT_SUB + RTT_SUB) << shift) +
	       ((1ull << shift) - 1) / 2;
}

static void
rtt_hist_add(rtt_hist_t *h, uint64_t us)
{
	h->b[rtt_bucket(us)]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

/* the value of rank ceil(n * permille / 1000), as above; 0 if empty */
static uint64_t
rtt_quantile(const rtt_hist_t *h, unsigned int permille)
{
	uint64_t rank = (h->n * permille + 999) / 1000, c = 0, v;
	unsigned int i;

	if (!h->n)
		return 0;
	for (i = 0; i < RTT_BUCKETS - 1; i++) {
		c += h->b[i];
		if (c >= rank)
			break;
	}
	v = rtt_bucket_mid(i);

	return v < h->max ? v : h->max;
}

/* the echo of seq arrived for the first time */
static void
rtt_sample(struct slot *s, uint32_t seq)
{
	const struct inflight *f = &s->inflight[seq % (uint32_t)opt.window];
	uint64_t us;

	/*
	 * The entry holds seq's send time unless a later seq reused it: never
	 * for an in-order or early echo (at most --window in flight), maybe
	 * for a late one (its seq was skipped, and later ones were sent)
	 */
	if (seq >= s->seq_send || f->seq != seq) {
		rtt_not_sampled++;
		return;
	}
	us = th_now_us() - f->t_us;
	rtt_hist_add(&rtt_iv, us);
	rtt_hist_add(&rtt_all, us);
}

static void
sul_slot_cb(lws_sorted_usec_list_t *sul)
{
	struct slot *s = lws_container_of(sul, struct slot, sul);

	switch (s->state) {
	case SL_WAIT:
		start_connect(s);
		break;
	case SL_ESTABLISHED:
		if (s->rx_paused) {
			s->rx_paused = 0;
			lws_rx_flow_control(s->wsi, 1);
		}
		lws_callback_on_writable(s->wsi);
		break;
	default:
		break;
	}
}

/* --start-together: set once every connection's first handshake is done */
static int all_started;

static int
slot_may_send(struct slot *s)
{
	if (stopping || s->intended)
		return 0;
	if (opt.start_together && !all_started)
		return 0;
	if (opt.close_after && s->sent >= opt.close_after)
		return 0;
	if (opt.msgs_per_conn &&
	    s->total_recv + (s->sent - s->recv) >= opt.msgs_per_conn)
		return 0;
	if (s->sent - s->recv >= (unsigned long)opt.window)
		return 0;

	return 1;
}

/*
 * --start-together: the last first handshake is done, every connection may
 * send.  A server that echoes while it still accepts makes its own ramp slow
 * (Node.js's single thread serves the echoes first): a benchmark would wait
 * for "all connections up" for as long as it likes.
 */
static void
start_all(void)
{
	int i;

	all_started = 1;
	for (i = 0; i < opt.conns; i++)
		if (slots[i].state == SL_ESTABLISHED && slots[i].wsi)
			lws_callback_on_writable(slots[i].wsi);
}

/* all echoes in: decide whether this attempt is over */
static void
maybe_finish(struct slot *s)
{
	if (s->state != SL_ESTABLISHED || s->intended)
		return;
	if (s->sent != s->recv)
		return;
	if (stopping ||
	    (opt.close_after && s->recv >= opt.close_after) ||
	    (opt.msgs_per_conn && s->total_recv >= opt.msgs_per_conn)) {
		s->intended = 1;
		lws_callback_on_writable(s->wsi);
	}
}

/* ---- TLS sessions: offers, dump round trip ------------------------------- */

/*
 * Sessions lws offered during the attempt that is ending: the library's
 * counter since the previous end.  Only with one connection slot (attempts
 * in sequence) and lws-hardened's session counters; else -1.
 */
static int8_t
attempt_sessions_offered(void)
{
#if defined(LWS_HARDENED_HAS_SESSION_COUNTERS)
	static uint64_t last;
	uint64_t now, n;

	if (opt.conns != 1)
		return -1;
	now = lws_hardened_counter(context, LWSH_CTR_SESSION_OFFERED);
	n = now - last;
	last = now;

	return n > 100 ? -1 : (int8_t)n;
#else
	return -1;
#endif
}

/*
 * --session-dump-roundtrip: as an application that persists its TLS
 * session, save the vhost's cached session (lws_tls_session_dump_save())
 * after every handshake and offer the last saved one back
 * (lws_tls_session_dump_load()) before every reconnect; lws loads it only
 * when the cache has no session for the server.
 */
static struct {
	uint8_t		*blob;
	size_t		len;
	unsigned long	saved, loaded, not_loaded;
} dump;

static int
dump_save_cb(struct lws_context *cx, struct lws_tls_session_dump *d)
{
	uint8_t *b = malloc(d->blob_len);

	(void)cx;
	if (!b)
		return 1;
	memcpy(b, d->blob, d->blob_len);
	free(dump.blob);
	dump.blob = b;
	dump.len = d->blob_len;

	return 0;
}

static int
dump_load_cb(struct lws_context *cx, struct lws_tls_session_dump *d)
{
	(void)cx;
	if (!dump.blob || !(d->blob = malloc(dump.len)))
		return 1;
	memcpy(d->blob, dump.blob, dump.len); /* lws free()s it */
	d->blob_len = dump.len;

	return 0;
}

#if defined(LWS_WITH_TLS_SESSIONS)
/* the session's tag: the connection's Host (i.host below) and port */
static const char *
dump_tag_host(char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d", opt.host, opt.port);

	return buf;
}
#endif

static void
dump_save(void)
{
#if defined(LWS_WITH_TLS_SESSIONS)
	char host[300];

	if (!lws_tls_session_dump_save(vhost, dump_tag_host(host, sizeof(host)),
				       (uint16_t)opt.port, dump_save_cb, NULL))
		dump.saved++;
#endif
}

static void
dump_load(void)
{
#if defined(LWS_WITH_TLS_SESSIONS)
	char host[300];

	if (!dump.blob)
		return;
	if (!lws_tls_session_dump_load(vhost, dump_tag_host(host, sizeof(host)),
				       (uint16_t)opt.port, dump_load_cb, NULL))
		dump.loaded++;
	else
		dump.not_loaded++;
#endif
}

/* ---- attempt end -------------------------------------------------------- */

/* wsi: the attempt's wsi in the callback that ends it, NULL if none */
static void
attempt_end(struct slot *s, int kind, const char *reason, struct lws *wsi)
{
	struct attempt_rec *r;
	th_conn_end_t e;
	unsigned long lost;

	if (s->state != SL_CONNECTING && s->state != SL_ESTABLISHED)
		return;

	th_lws_conn_end(wsi, &e);
	th_end_tab_add(&ends_tab, &e);
	if (e.cause)
		lwsl_info("%s: conn %u/%u ends: %s%s%s\n", TOOL, s->id,
			  s->attempt, e.cause, e.tls_error[0] ? ": " : "",
			  e.tls_error);

	lost = s->sent - s->recv + s->lost_early;
	/* late arrivals were removed from the missing list; the rest are lost */
	if (n_recs == cap_recs && cap_recs < MAX_RECS) {
		size_t nc = cap_recs ? cap_recs * 2 : 4096;
		struct attempt_rec *nr = realloc(recs, nc * sizeof(*nr));

		if (nr) {
			recs = nr;
			cap_recs = nc;
		}
	}
	if (n_recs < cap_recs) {
		r = &recs[n_recs++];
		memset(r, 0, sizeof(*r));
		r->slot = s->id;
		r->attempt = s->attempt;
		r->port = s->port;
		r->connect_seq = s->connect_seq;
		r->kind = (uint8_t)kind;
		r->established = kind == END_CLOSED;
		r->intended = (uint8_t)(s->intended || s->forced);
		r->forced = (uint8_t)s->forced;
		r->resumed = (int8_t)s->resumed;
		r->offered = attempt_sessions_offered();
		r->reason = reason_idx(reason);
		r->cause = cause_idx(e.cause);
		r->tls_error = tls_error_idx(e.tls_error);
		r->alert = (int16_t)e.alert;
		r->t_start = (float)s->t_start;
		r->sent = s->sent;
		r->recv = s->recv;
		r->lost = lost;
		r->corrupted = s->corrupted;
		r->dup = s->dup;
		r->ooo = s->ooo;
		r->t_end = (float)elapsed_s();
	} else
		recs_dropped++;

	st.ends++;
	if (kind == END_HS_FAIL)
		st.hs_fail++;
	if (s->port < 0)
		st.port_unknown++;

	lws_sul_cancel(&s->sul);
	s->wsi = NULL;
	free(s->rx);
	s->rx = NULL;
	s->rx_len = s->rx_cap = 0;
	s->rx_paused = 0;
	active--;

	if (opt.reconnect && !stopping && s->reconnects < opt.max_reconnects &&
	    !(opt.msgs_per_conn && s->total_recv >= opt.msgs_per_conn)) {
		s->reconnects++;
		s->state = SL_WAIT;
		lws_sul_schedule(context, 0, &s->sul, sul_slot_cb,
			(lws_usec_t)opt.reconnect_delay_ms * LWS_US_PER_MS);
	} else
		s->state = SL_DONE;
}

/* ---- connecting --------------------------------------------------------- */

/* connection validity (ws PING / hangup), --validity-ping */
static lws_retry_bo_t retry;

/* --cert-from-blob: DER copies that live as long as the context */
static uint8_t *blob_der[2];

#if defined(TH_HAVE_OSSL_API)
static size_t
pem_file_to_der(const char *path, int is_key, uint8_t **der)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	unsigned char *p;
	BIO *b;
	int n;

	b = BIO_new_file(path, "r");
	if (!b)
		th_die("cannot open '%s'", path);
	if (is_key)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	else
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k && !x)
		th_die("'%s' holds no PEM %s", path,
		       is_key ? "private key" : "certificate");
	/* a key in its type's own DER form: what lws's probe decodes */
	n = k ? i2d_PrivateKey(k, NULL) : i2d_X509(x, NULL);
	if (n <= 0 || !(*der = malloc((size_t)n)))
		th_die("cannot convert '%s' to DER", path);
	p = *der;
	n = k ? i2d_PrivateKey(k, &p) : i2d_X509(x, &p);
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error(); /* ours, not lws's: keep the counters honest */

	return (size_t)n;
}
#endif

static void
set_client_cert_blobs(void)
{
#if defined(TH_HAVE_OSSL_API)
	size_t n;

	n = pem_file_to_der(opt.cert, 0, &blob_der[0]);
	lws_system_blob_direct_set(lws_system_get_blob(context,
			LWS_SYSBLOB_TYPE_CLIENT_CERT_DER, 0), blob_der[0], n);
	n = pem_file_to_der(opt.key, 1, &blob_der[1]);
	lws_system_blob_direct_set(lws_system_get_blob(context,
			LWS_SYSBLOB_TYPE_CLIENT_KEY_DER, 0), blob_der[1], n);
#endif
}

static void
start_connect(struct slot *s)
{
	struct lws_client_connect_info i;
	char host_hdr[300];
	struct lws *w;

	if (stopping) {
		s->state = SL_DONE;
		return;
	}
	if (s->state == SL_WAIT)
		s->attempt++;

	s->state = SL_CONNECTING;
	s->port = -1;
	s->connect_seq = 0;
	s->intended = s->forced = 0;
	s->resumed = -1;
	s->peer_close_code = -1;
	s->seq_send = s->seq_expect = 0;
	s->sent = s->recv = s->corrupted = s->dup = s->ooo = s->large_ok = 0;
	s->n_missing = 0;
	s->lost_early = 0;
	s->next_send_us = 0;
	s->t_start = elapsed_s();
	th_rng_fork(&s->rng, opt.seed, ((uint64_t)s->id << 32) | s->attempt);
	active++;
	st.attempts++;

	snprintf(host_hdr, sizeof(host_hdr), "%s:%d", opt.host, opt.port);
	if (opt.dump_roundtrip)
		dump_load();
	memset(&i, 0, sizeof(i));
	i.context = context;
	i.vhost = vhost;
	i.address = opt.host;
	i.port = opt.port;
	i.path = opt.path;
	i.host = host_hdr;
	i.origin = host_hdr;
	i.protocol = "lws-stress";
	i.local_protocol_name = "lws-stress";
	i.opaque_user_data = s;
	i.pwsi = &s->wsi;
	if (opt.validity_ping)
		i.retry_and_idle_policy = &retry;
	if (opt.cert_from_blob)
		i.sys_tls_client_cert = 1;	/* blob index 0, plus one */
	if (!opt.no_tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (opt.insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
				LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}

	plant(PL_BEFORE_CONNECT);
	s->in_connect = 1;
	w = lws_client_connect_via_info(&i);
	s->in_connect = 0;
	th_errq_check_after(&errq, SITE_CONNECT, NULL);
	if (opt.connect_stall_ms)	/* a busy application thread */
		usleep((useconds_t)opt.connect_stall_ms * 1000u);
	if (!w && s->state == SL_CONNECTING) {
		/* failed before any callback could tell us */
		st.connect_api_fail++;
		attempt_end(s, END_HS_FAIL, "lws_client_connect_via_info failed",
			    NULL);
	}
}

static void
sul_connect_cb(lws_sorted_usec_list_t *sul)
{
	int n = 0;

	while (!stopping && next_to_connect < opt.conns && n++ < CONNECT_BATCH)
		start_connect(&slots[next_to_connect++]);
	if (!stopping && next_to_connect < opt.conns)
		lws_sul_schedule(context, 0, &sul_connect, sul_connect_cb,
				 CONNECT_TICK_MS * LWS_US_PER_MS);
}

/* ---- sending ------------------------------------------------------------ */

static int
send_one(struct slot *s, struct lws *wsi)
{
	size_t plen = pick_size(s), i, total;
	struct inflight *f;
	th_msg_hdr_t h;
	uint64_t now;
	uint8_t *p;
	int n;

	total = TH_MSG_HDR_LEN + plen;
	if (LWS_PRE + total > s->tx_cap) {
		uint8_t *nb = realloc(s->tx, LWS_PRE + total);

		if (!nb)
			return -1;
		s->tx = nb;
		s->tx_cap = LWS_PRE + total;
	}
	p = s->tx + LWS_PRE;
	for (i = 0; i < plen; i++)
		p[TH_MSG_HDR_LEN + i] = (uint8_t)th_rng_next(&s->rng);
	memset(&h, 0, sizeof(h));
	h.magic = TH_MSG_MAGIC;
	h.conn_id = s->id;
	h.attempt = s->attempt;
	h.seq = s->seq_send;
	h.len = (uint32_t)plen;
	h.crc = th_crc32(p + TH_MSG_HDR_LEN, plen);
	if (opt.large_request && s->seq_send == 0)
		h.flags |= TH_MSG_F_WANT_LARGE;
	th_msg_hdr_put(p, &h);

#if defined(TH_HAVE_OSSL_API)
	if (opt.key_update && s->sent && !(s->sent % opt.key_update)) {
		SSL *ssl = lws_get_ssl(wsi);

		if (!ssl || SSL_version(ssl) != TLS1_3_VERSION)
			st.key_update_skipped++;
#if defined(TH_TLS_BACKEND_wolfssl)
		else if (wolfSSL_update_keys(ssl) == WOLFSSL_SUCCESS) {
#else
		else if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) == 1) {
#endif
			st.key_updates++;
			s->key_updates++;
		} else {
			st.key_update_failed++;
			/* do not let our own failure poison lws's next call */
			th_errq_drain(NULL, NULL, 0);
		}
	}
#endif

	/* the round trip includes lws_write(): framing, encryption, send() */
	now = th_now_us();
	n = lws_write(wsi, p, total, LWS_WRITE_BINARY);
	if (n < (int)total)
		return -1;
	f = &s->inflight[s->seq_send % (uint32_t)opt.window];
	f->t_us = now;
	f->seq = s->seq_send;
	s->seq_send++;
	s->sent++;
	st.sent++;
	if (opt.rate > 0)
		s->next_send_us = now + (uint64_t)(1e6 / opt.rate);

	return 0;
}

/* ---- receiving ---------------------------------------------------------- */

/* 1: the first echo of a message we sent (counted in recv), else 0 */
static int
got_seq(struct slot *s, uint32_t seq)
{
	int i;

	if (seq == s->seq_expect) {
		s->seq_expect++;
		s->recv++;
		return 1;
	}
	if (seq > s->seq_expect) {
		if (seq >= s->seq_send) {
			/* an echo of something we never sent */
			s->corrupted++;
			return 0;
		}
		s->ooo++;
		while (s->seq_expect < seq) {
			if (s->n_missing < MAX_MISSING)
				s->missing[s->n_missing++] = s->seq_expect;
			else
				s->lost_early++;
			s->seq_expect++;
		}
		s->seq_expect++;
		s->recv++;
		return 1;
	}
	for (i = 0; i < s->n_missing; i++)
		if (s->missing[i] == seq) {
			s->missing[i] = s->missing[--s->n_missing];
			s->recv++;
			return 1;
		}
	s->dup++;

	return 0;
}

static void
rx_message(struct slot *s)
{
	th_msg_hdr_t h;

	if (th_msg_hdr_get(s->rx, s->rx_len, &h) ||
	    h.conn_id != s->id || h.attempt != s->attempt ||
	    (size_t)h.len != s->rx_len - TH_MSG_HDR_LEN ||
	    th_crc32(s->rx + TH_MSG_HDR_LEN, h.len) != h.crc) {
		s->corrupted++;
		lwsl_warn("%s: conn %u/%u: corrupted message (%zu bytes)\n",
			  TOOL, s->id, s->attempt, s->rx_len);
		return;
	}
	if (h.flags & TH_MSG_F_LARGE_RESP) {
		s->large_ok++;
		st.large_ok++;
	}
	if (got_seq(s, h.seq))
		rtt_sample(s, h.seq);
	else
		rtt_not_sampled++;	/* a duplicate, or never sent */
	s->total_recv++;
	st.recv++;
}

static int
rx_append(struct slot *s, const void *in, size_t len)
{
	size_t need = s->rx_len + len;

	if (need > (512u << 20))
		return -1;
	if (need > s->rx_cap) {
		size_t cap = s->rx_cap ? s->rx_cap : 4096;
		uint8_t *n;

		while (cap < need)
			cap *= 2;
		n = realloc(s->rx, cap);
		if (!n)
			return -1;
		s->rx = n;
		s->rx_cap = cap;
	}
	memcpy(s->rx + s->rx_len, in, len);
	s->rx_len = need;

	return 0;
}

/* ---- lws callback ------------------------------------------------------- */

static int
callback_client(struct lws *wsi, enum lws_callback_reasons reason,
		void *user, void *in, size_t len)
{
	struct slot *s = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	char rbuf[256];

	/* before anything of ours can touch the queue; look-only inside SSL */
	th_errq_check_at_callback(&errq, (int)reason);

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!s)
			break;
		if (s->port < 0)
			s->port = th_lws_local_port(wsi);
		if (s->port > 0 && !s->connect_seq)
			s->connect_seq = connect_seq_next++;
		snprintf(rbuf, sizeof(rbuf), "connection error: %s",
			 in ? (const char *)in : "(no reason)");
		lwsl_info("%s: conn %u/%u: %s\n", TOOL, s->id, s->attempt, rbuf);
		attempt_end(s, END_HS_FAIL, rbuf, wsi);
		return 0;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!s)
			return -1;
		s->state = SL_ESTABLISHED;
		s->port = th_lws_local_port(wsi);
		s->connect_seq = connect_seq_next++;
		s->resumed = (int8_t)th_lws_session_reused(wsi, 1);
		st.hs_ok++;
		if (s->resumed > 0)
			st.resumed++;
		if (s->attempt > 0) {
			st.est_reconn++;
			if (s->resumed > 0)
				st.resumed_reconn++;
		}
		if (opt.dump_roundtrip)
			dump_save();
#if defined(TH_HAVE_OSSL_API) && !defined(TH_TLS_BACKEND_wolfssl)
		if (opt.max_fragment && lws_get_ssl(wsi))
			SSL_set_max_send_fragment(lws_get_ssl(wsi),
						  (long)opt.max_fragment);
#endif
		if (stopping)
			s->intended = 1;
		if (opt.start_together && !all_started &&
		    st.hs_ok >= (unsigned long)opt.conns)
			start_all();
		lws_callback_on_writable(wsi);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!s)
			return -1;
		if (s->intended) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
					 (unsigned char *)"done", 4);
			return -1;
		}
		if (!slot_may_send(s)) {
			maybe_finish(s);
			return 0;
		}
		if (opt.rate > 0 && s->next_send_us &&
		    th_now_us() < s->next_send_us) {
			lws_sul_schedule(context, 0, &s->sul, sul_slot_cb,
				(lws_usec_t)(s->next_send_us - th_now_us()));
			return 0;
		}
		if (send_one(s, wsi))
			return -1;
		if (slot_may_send(s))
			lws_callback_on_writable(wsi);
		plant(PL_WRITEABLE);
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!s)
			return -1;
		if (lws_is_first_fragment(wsi))
			s->rx_len = 0;
		if (rx_append(s, in, len))
			return -1;
		if (lws_is_final_fragment(wsi) &&
		    !lws_remaining_packet_payload(wsi)) {
			rx_message(s);
			s->rx_len = 0;
			if (slot_may_send(s))
				lws_callback_on_writable(wsi);
			maybe_finish(s);
		}
		if (opt.slow_read_ms && !s->intended) {
			s->rx_paused = 1;
			lws_rx_flow_control(wsi, 0);
			lws_sul_schedule(context, 0, &s->sul, sul_slot_cb,
				(lws_usec_t)opt.slow_read_ms * LWS_US_PER_MS);
		}
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		/*
		 * lws tells every attempt's end with CLIENT_CONNECTION_ERROR
		 * or CLIENT_CLOSED first.  A wsi destroyed while its attempt is
		 * still open ended unreported: record it (else the slot waits
		 * for --max-time).  Not inside the connect call (a NULL return
		 * reports it) nor at context destroy ("never reported by lws").
		 */
		if (s && !s->in_connect && !destroying && s->wsi == wsi &&
		    (s->state == SL_CONNECTING || s->state == SL_ESTABLISHED)) {
			st.destroyed_unreported++;
			lwsl_warn("%s: conn %u/%u: lws destroyed the connection "
				  "without CLIENT_CONNECTION_ERROR or "
				  "CLIENT_CLOSED\n", TOOL, s->id, s->attempt);
			attempt_end(s, s->state == SL_ESTABLISHED ? END_CLOSED :
				    END_HS_FAIL, "destroyed by lws unreported "
				    "(no CLIENT_CONNECTION_ERROR / CLIENT_CLOSED)",
				    wsi);
		}
		break;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (s)
			s->peer_close_code = len >= 2 ?
				(((const uint8_t *)in)[0] << 8) |
				((const uint8_t *)in)[1] : 1005;
		return 0;

	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!s)
			break;
		if (s->intended || s->forced)
			snprintf(rbuf, sizeof(rbuf), "%s",
				 s->forced ? "closed at end-of-run deadline" :
					     "closed by the test");
		else if (s->peer_close_code >= 0)
			snprintf(rbuf, sizeof(rbuf), "server ws close %d",
				 s->peer_close_code);
		else
			snprintf(rbuf, sizeof(rbuf), "closed without ws close");
		attempt_end(s, END_CLOSED, rbuf, wsi);
		return 0;

	default:
		break;
	}

	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "lws-stress", callback_client, 0, 64 * 1024, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

/* ---- proxy events ------------------------------------------------------- */

struct pport {
	int		n, cap;
	uint8_t		*faulted;	/* per accepted connection, in order */
	int		any_fault;
};

static struct pport *pports;		/* indexed by port */

static int
json_field(const char *line, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	/* the key is the occurrence followed by ':' (a value may look alike) */
	for (p = strstr(line, pat); p; p = strstr(p, pat)) {
		p += strlen(pat);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ':')
			break;
	}
	if (!p)
		return -1;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		p++;
		while (*p && *p != '"' && n + 1 < outlen)
			out[n++] = *p++;
	} else
		while (*p && *p != ',' && *p != '}' && *p != ' ' &&
		       n + 1 < outlen)
			out[n++] = *p++;
	out[n] = '\0';

	return 0;
}

static void
load_proxy_events(void)
{
	char line[4096], v[128], ev[64];
	struct pport *pp;
	FILE *f;
	long port;

	if (!opt.proxy_events)
		return;
	pports = calloc(65536, sizeof(*pports));
	if (!pports)
		th_die("out of memory");
	f = fopen(opt.proxy_events, "r");
	if (!f) {
		th_warn("--proxy-events %s: %s (no connection counts as "
			"faulted)", opt.proxy_events, strerror(errno));
		return;
	}
	st.proxy_events_ok = 1;
	while (fgets(line, sizeof(line), f)) {
		st.proxy_lines++;
		/* lws-faultproxy names them "ev" and "cport" */
		if (json_field(line, "cport", v, sizeof(v)) &&
		    json_field(line, "client_port", v, sizeof(v)))
			continue;
		port = strtol(v, NULL, 10);
		if (port <= 0 || port > 65535)
			continue;
		pp = &pports[port];
		if (json_field(line, "ev", ev, sizeof(ev)) &&
		    json_field(line, "event", ev, sizeof(ev)))
			ev[0] = '\0';
		if (!strcmp(ev, "accepted") || !pp->n) {
			if (pp->n == pp->cap) {
				int nc = pp->cap ? pp->cap * 2 : 2;
				uint8_t *nf = realloc(pp->faulted, (size_t)nc);

				if (!nf)
					th_die("out of memory");
				pp->faulted = nf;
				pp->cap = nc;
			}
			pp->faulted[pp->n++] = 0;
		}
		if (!json_field(line, "fault", v, sizeof(v)) && v[0] &&
		    strcmp(v, "none") && strcmp(v, "null") &&
		    strcmp(v, "split") /* splitting is not a fault */) {
			pp->faulted[pp->n - 1] = 1;
			pp->any_fault = 1;
			st.proxy_faults++;
		}
	}
	fclose(f);
}

/* seconds kept as float, written rounded to the microsecond */
static double
to_us(double s)
{
	return (double)(long long)(s * 1e6 + (s < 0 ? -0.5 : 0.5)) / 1e6;
}

/* the first --attempt-log attempts, in the order they were made */
static void
json_attempt_log(th_json_t *j)
{
	static const char * const cls[] = { "intended", "faulted", "collateral" };
	size_t i;

	if (!opt.attempt_log)
		return;
	th_json_arr_open(j, "attempt_log");
	for (i = 0; i < n_recs && i < opt.attempt_log; i++) {
		const struct attempt_rec *a = &recs[i];

		th_json_obj_open(j, NULL);
		th_json_uint(j, "conn", a->slot);
		th_json_uint(j, "attempt", a->attempt);
		th_json_bool(j, "established", a->established);
		th_json_int(j, "resumed", a->resumed);
		if (a->offered >= 0)	/* lws-hardened, one slot */
			th_json_int(j, "sessions_offered", a->offered);
		th_json_str(j, "class", a->cls < CL_COUNT ? cls[a->cls] : "?");
		th_json_str(j, "end", a->kind == END_HS_FAIL ?
			    "connection-error" : "closed");
		th_json_str(j, "reason", reasons[a->reason]);
		/* lws-hardened: why it ended; null on vanilla / not reported */
		th_json_str(j, "cause", a->cause == CAUSE_NONE ? NULL :
			    causes[a->cause]);
		th_json_str(j, "tls_error", a->tls_error == TLS_ERR_NONE ?
			    NULL : tls_errors[a->tls_error]);
		if (a->cause != CAUSE_NONE && a->alert >= 0)
			th_json_int(j, "tls_alert", a->alert);
		else
			th_json_str(j, "tls_alert", NULL);
		th_json_double(j, "t_start_s", to_us(a->t_start));
		th_json_double(j, "duration_s", to_us(a->t_end - a->t_start));
		th_json_obj_close(j);
	}
	th_json_arr_close(j);
}

static int
cmp_rec_seq(const void *a, const void *b)
{
	const struct attempt_rec *x = *(struct attempt_rec * const *)a;
	const struct attempt_rec *y = *(struct attempt_rec * const *)b;

	return x->connect_seq < y->connect_seq ? -1 :
	       x->connect_seq > y->connect_seq;
}

static void
mark_faulted(void)
{
	struct attempt_rec **v;
	int *ours, *k;
	size_t i, n = 0;

	if (!pports)
		return;
	/* the k-th connection we made from port P is the proxy's k-th from P */
	v = malloc((n_recs + 1) * sizeof(*v));
	ours = calloc(65536, sizeof(int));
	k = calloc(65536, sizeof(int));
	if (!v || !ours || !k)
		th_die("out of memory");
	for (i = 0; i < n_recs; i++)
		if (recs[i].port > 0 && recs[i].connect_seq) {
			v[n++] = &recs[i];
			ours[recs[i].port]++;
		}
	qsort(v, n, sizeof(*v), cmp_rec_seq);
	for (i = 0; i < n; i++) {
		struct pport *pp = &pports[v[i]->port];
		int idx = k[v[i]->port]++;

		if (pp->n == ours[v[i]->port])
			v[i]->faulted = pp->faulted[idx];
		else
			v[i]->faulted = (uint8_t)pp->any_fault;
	}
	free(v);
	free(ours);
	free(k);
}

/* ---- summary ------------------------------------------------------------ */

static struct {
	unsigned long	cls[CL_COUNT];
	unsigned long	by_reason[CL_COUNT][MAX_REASONS];
	unsigned long	lost, corrupted, dup, ooo;
	unsigned long	lost_f, corrupted_f, dup_f, ooo_f;
	unsigned long	established_drops;	/* collateral after ESTABLISHED */
	unsigned long	hs_fail_collateral, forced;
	double		resume_rate;
	int		resume_ok;
} res;

static void
classify(void)
{
	size_t i;

	mark_faulted();
	for (i = 0; i < n_recs; i++) {
		struct attempt_rec *r = &recs[i];

		r->cls = r->intended ? CL_INTENDED :
			 r->faulted ? CL_FAULTED : CL_COLLATERAL;
		res.cls[r->cls]++;
		res.by_reason[r->cls][r->reason]++;
		if (r->forced)
			res.forced++;
		if (r->cls == CL_COLLATERAL) {
			if (r->established)
				res.established_drops++;
			else
				res.hs_fail_collateral++;
		}
		if (r->faulted) {
			res.lost_f += r->lost;
			res.corrupted_f += r->corrupted;
			res.dup_f += r->dup;
			res.ooo_f += r->ooo;
		} else {
			res.lost += r->lost;
			res.corrupted += r->corrupted;
			res.dup += r->dup;
			res.ooo += r->ooo;
		}
	}
	res.resume_rate = st.est_reconn ?
		100.0 * (double)st.resumed_reconn / (double)st.est_reconn : 0;
	res.resume_ok = opt.expect_resume_min < 0 ||
		(st.est_reconn && res.resume_rate >= opt.expect_resume_min);
}

static int
verdict(void)
{
	return !res.cls[CL_COLLATERAL] && !res.lost && !res.corrupted &&
	       !res.dup && !res.ooo && res.resume_ok && !recs_dropped &&
	       !hit_max_time ? 0 : 1;
}

/*
 * Round trips over the whole run.  samples + not_sampled = messages.received:
 * not sampled are duplicates, echoes of a seq never sent, and late echoes
 * whose send time was overwritten (rtt_sample()); 0 on a healthy stream.
 */
static void
json_rtt(th_json_t *j)
{
	static const struct { const char *name; unsigned int permille; } q[] = {
		{ "p50", 500 }, { "p90", 900 }, { "p99", 990 },
	};
	size_t i;

	th_json_obj_open(j, "rtt_us");
	th_json_uint(j, "samples", rtt_all.n);
	th_json_uint(j, "not_sampled", rtt_not_sampled);
	for (i = 0; i < LWS_ARRAY_SIZE(q); i++)
		if (rtt_all.n)
			th_json_uint(j, q[i].name,
				     rtt_quantile(&rtt_all, q[i].permille));
		else
			th_json_str(j, q[i].name, NULL);	/* not measured */
	if (rtt_all.n)
		th_json_uint(j, "max", rtt_all.max);
	else
		th_json_str(j, "max", NULL);
	th_json_obj_close(j);
}

static void
write_summary(int rc)
{
	th_json_t j;
	size_t i;
	FILE *f;
	int c, r, logged = 0;

	if (!opt.json_path)
		return;
	f = th_open_output(opt.json_path);
	th_json_init(&j, f);
	th_json_obj_open(&j, NULL);
	th_lws_json_header(&j, TOOL, opt.seed);
	th_json_int(&j, "exit_status", rc);
	th_json_bool(&j, "ok", rc == 0);
	th_json_double(&j, "elapsed_s", elapsed_s());
	/* the run did not end by itself within --max-time: a hang */
	th_json_bool(&j, "hit_max_time", hit_max_time);
	/*
	 * sockets of this process before lws_create_context() and after
	 * lws_context_destroy(): a difference is a socket lws never closed
	 */
	th_json_obj_open(&j, "open_sockets");
	th_json_int(&j, "before_context", sockets_before_context);
	th_json_int(&j, "after_context_destroy", sockets_after_destroy);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "config");
	th_json_str(&j, "server", opt.host);
	th_json_int(&j, "port", opt.port);
	th_json_bool(&j, "tls", !opt.no_tls);
	th_json_int(&j, "connections", opt.conns);
	th_json_uint(&j, "messages_per_conn", opt.msgs_per_conn);
	th_json_double(&j, "duration_s", opt.duration);
	th_json_uint(&j, "msg_size_min", opt.msg_min);
	th_json_uint(&j, "msg_size_max", opt.msg_max);
	th_json_int(&j, "window", opt.window);
	th_json_bool(&j, "start_together", opt.start_together);
	th_json_bool(&j, "reconnect", opt.reconnect);
	th_json_uint(&j, "close_after", opt.close_after);
	th_json_uint(&j, "key_update", opt.key_update);
	th_json_str(&j, "proxy_events", opt.proxy_events);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "attempts");
	th_json_uint(&j, "total", st.attempts);
	th_json_uint(&j, "handshake_ok", st.hs_ok);
	th_json_uint(&j, "handshake_failed", st.hs_fail);
	th_json_uint(&j, "connect_api_failed", st.connect_api_fail);
	/* lws destroyed the wsi without CLIENT_CONNECTION_ERROR/CLOSED */
	th_json_uint(&j, "destroyed_unreported", st.destroyed_unreported);
	th_json_uint(&j, "local_port_unknown", st.port_unknown);
	th_json_uint(&j, "records_dropped", recs_dropped);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "ends");
	for (c = 0; c < CL_COUNT; c++)
		th_json_uint(&j, class_names[c], res.cls[c]);
	th_json_uint(&j, "collateral_established_drops", res.established_drops);
	th_json_uint(&j, "collateral_handshake_failures", res.hs_fail_collateral);
	th_json_uint(&j, "forced_at_deadline", res.forced);
	th_json_obj_open(&j, "by_reason");
	for (c = 0; c < CL_COUNT; c++) {
		th_json_obj_open(&j, class_names[c]);
		for (r = 0; r < n_reasons + (reasons[n_reasons] ? 1 : 0); r++)
			if (res.by_reason[c][r])
				th_json_uint(&j, reasons[r], res.by_reason[c][r]);
		th_json_obj_close(&j);
	}
	th_json_obj_close(&j);
	th_json_obj_close(&j);

	th_json_obj_open(&j, "tls_sessions");
	th_json_uint(&j, "resumed", st.resumed);
	th_json_uint(&j, "established_reconnects", st.est_reconn);
	th_json_uint(&j, "resumed_reconnects", st.resumed_reconn);
	th_json_double(&j, "resumption_rate_pct", res.resume_rate);
	if (opt.expect_resume_min >= 0)
		th_json_double(&j, "expect_resume_min_pct",
			       opt.expect_resume_min);
	th_json_bool(&j, "resumption_ok", res.resume_ok);
	if (opt.dump_roundtrip) {
		th_json_obj_open(&j, "session_dump");
		th_json_uint(&j, "saved", dump.saved);
		th_json_uint(&j, "loaded", dump.loaded);
		th_json_uint(&j, "not_loaded", dump.not_loaded);
		th_json_obj_close(&j);
	}
	th_json_obj_close(&j);

	th_json_obj_open(&j, "messages");
	th_json_uint(&j, "sent", st.sent);
	th_json_uint(&j, "received", st.recv);
	th_json_uint(&j, "large_responses_ok", st.large_ok);
	th_json_uint(&j, "lost", res.lost);
	th_json_uint(&j, "corrupted", res.corrupted);
	th_json_uint(&j, "duplicated", res.dup);
	th_json_uint(&j, "out_of_order", res.ooo);
	th_json_obj_open(&j, "on_faulted_connections");
	th_json_uint(&j, "lost", res.lost_f);
	th_json_uint(&j, "corrupted", res.corrupted_f);
	th_json_uint(&j, "duplicated", res.dup_f);
	th_json_uint(&j, "out_of_order", res.ooo_f);
	th_json_obj_close(&j);
	th_json_obj_close(&j);

	json_rtt(&j);

	th_json_obj_open(&j, "key_updates");
	th_json_uint(&j, "done", st.key_updates);
	th_json_uint(&j, "failed", st.key_update_failed);
	th_json_uint(&j, "skipped_not_tls13", st.key_update_skipped);
	th_json_obj_close(&j);

	if (opt.proxy_events) {
		th_json_obj_open(&j, "proxy");
		th_json_bool(&j, "events_read", st.proxy_events_ok);
		th_json_uint(&j, "lines", st.proxy_lines);
		th_json_uint(&j, "fault_lines", st.proxy_faults);
		th_json_obj_close(&j);
	}

	/* like the server's: always there, "checked" says if it means anything */
	th_errq_check_json(&j, "error_queue", &errq);

	th_json_obj_open(&j, "plants");
	for (c = 0; c < PL_COUNT; c++)
		if (opt.plant_mask & (1u << c))
			th_json_uint(&j, plant_names[c], plants[c]);
	th_json_obj_close(&j);

	/* lws-hardened only; null on vanilla builds (no such API) */
	th_json_bool(&j, "close_cause_api", th_lws_have_close_cause());
	th_end_tab_json(&j, "ends_by_cause", "first_tls_errors", &ends_tab);
	th_lws_counters_json(&j, "hardened_counters", &counters);

	json_attempt_log(&j);

	th_json_arr_open(&j, "first_collateral");
	for (i = 0; i < n_recs && logged < MAX_COLLATERAL_LOG; i++) {
		struct attempt_rec *a = &recs[i];

		if (a->cls != CL_COLLATERAL)
			continue;
		logged++;
		th_json_obj_open(&j, NULL);
		th_json_uint(&j, "conn", a->slot);
		th_json_uint(&j, "attempt", a->attempt);
		th_json_int(&j, "local_port", a->port);
		th_json_bool(&j, "established", a->established);
		th_json_str(&j, "reason", reasons[a->reason]);
		th_json_uint(&j, "sent", a->sent);
		th_json_uint(&j, "received", a->recv);
		th_json_double(&j, "t_s", a->t_end);
		th_json_obj_close(&j);
	}
	th_json_arr_close(&j);

	th_json_obj_close(&j);
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
}

/* ---- timers ------------------------------------------------------------- */

static void
print_stats(void)
{
	char p50[24] = "-", p99[24] = "-";

	/* round trips of the echoes received since the previous line */
	if (rtt_iv.n) {
		snprintf(p50, sizeof(p50), "%llu",
			 (unsigned long long)rtt_quantile(&rtt_iv, 500));
		snprintf(p99, sizeof(p99), "%llu",
			 (unsigned long long)rtt_quantile(&rtt_iv, 990));
	}
	memset(&rtt_iv, 0, sizeof(rtt_iv));
	/* new fields go at the end: parsers match the line's start */
	fprintf(stderr, "[%s %.1fs] active %d attempts %lu hs_ok %lu "
		"hs_fail %lu ends %lu sent %lu recv %lu resumed %lu "
		"key_updates %lu rtt_p50_us %s rtt_p99_us %s\n", TOOL,
		elapsed_s(), active, st.attempts, st.hs_ok, st.hs_fail, st.ends,
		st.sent, st.recv, st.resumed, st.key_updates, p50, p99);
}

static void
sul_stats_cb(lws_sorted_usec_list_t *sul)
{
	print_stats();
	lws_sul_schedule(context, 0, &sul_stats, sul_stats_cb,
			 (lws_usec_t)(opt.stats_interval * LWS_US_PER_SEC));
}

static void
sul_plant_cb(lws_sorted_usec_list_t *sul)
{
	plant(PL_TIMER);
	lws_sul_schedule(context, 0, &sul_plant, sul_plant_cb,
			 (lws_usec_t)opt.plant_interval_ms * LWS_US_PER_MS);
}

static void
sul_tick_cb(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(context, 0, &sul_tick, sul_tick_cb, 50 * LWS_US_PER_MS);
}

static void
begin_stop(void)
{
	int i;

	stopping = 1;
	t_stop = th_now_us();
	lws_sul_cancel(&sul_connect);
	lws_sul_cancel(&sul_plant);
	for (i = 0; i < opt.conns; i++) {
		struct slot *s = &slots[i];

		switch (s->state) {
		case SL_IDLE:
		case SL_WAIT:
			lws_sul_cancel(&s->sul);
			s->state = SL_DONE;
			break;
		case SL_ESTABLISHED:
			/* stop sending; close once the echoes are in */
			if (s->rx_paused) {
				lws_sul_cancel(&s->sul);
				s->rx_paused = 0;
				lws_rx_flow_control(s->wsi, 1);
			}
			maybe_finish(s);
			break;
		default:
			break;
		}
	}
}

static void
force_close_all(void)
{
	int i;

	for (i = 0; i < opt.conns; i++) {
		struct slot *s = &slots[i];

		if (s->state == SL_ESTABLISHED || s->state == SL_CONNECTING) {
			s->forced = 1;
			if (s->state == SL_ESTABLISHED && s->wsi) {
				s->intended = 1;
				lws_callback_on_writable(s->wsi);
			}
		}
	}
}

/* ---- options ------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " [options]\n"
"N concurrent ws / wss echo clients with message integrity checks.\n"
"\n"
"  --server HOST:PORT     server (default 127.0.0.1:7681)\n"
"  --path PATH            request path (default /)\n"
"  --no-tls               plain ws\n"
"  --ca FILE              verify the server against this CA\n"
"  --insecure             do not verify the server certificate\n"
"  --cert FILE --key FILE client certificate and key\n"
"  --cert-from-blob       hand --cert/--key to lws as DER system blobs\n"
"                         (lws_system_blob, the connection's\n"
"                         sys_tls_client_cert), as devices keep them in\n"
"                         flash; lws tries the key as RSA, then as EC\n"
"                         (OpenSSL API backends only)\n"
"  --connections N        concurrent connections (default 1, max 100000)\n"
"  --messages-per-conn M  each connection slot sends M messages in total\n"
"                         (over all its reconnects), then closes and stops\n"
"  --duration S           run S seconds, then drain echoes and close\n"
"                         (default when neither is given: 100 messages/conn)\n"
"  --msg-size B|MIN-MAX   payload bytes, fixed or a seeded range (default 64)\n"
"  --window N             messages in flight per connection (default 1)\n"
"  --start-together       no connection sends before every connection's first\n"
"                         handshake is done (benchmarks: a fair ramp)\n"
"  --rate R               at most R messages/s per connection (default: as\n"
"                         fast as the window allows)\n"
"  --seed N               seed for sizes and payloads (default 0)\n"
"  --reconnect            reconnect after every end (same vhost: lws's TLS\n"
"                         session cache is used)\n"
"  --reconnect-delay-ms N delay before reconnecting (default 10)\n"
"  --max-reconnects N     per connection slot (default: unlimited with\n"
"                         --duration, 10 otherwise)\n"
"  --close-after K        close each connection cleanly after K echoes\n"
"  --key-update K         SSL_key_update(REQUESTED) before every Kth message\n"
"                         (TLS 1.3; OpenSSL API backends only)\n"
"  --tls-max 1.2|1.3      highest TLS version offered (1.3 = only 1.3)\n"
"  --max-fragment N       SSL_set_max_send_fragment(N) (512..16384): many\n"
"                         small TLS records per message\n"
"  --large-request        first message of each connection asks the server\n"
"                         for its --large-response\n"
"  --slow-read-ms N       pause reading N ms after each received chunk\n"
"  --validity-ping S      ws PING after S idle seconds (retry policy)\n"
"  --validity-pong-timeout S  hang up after S seconds without validity\n"
"  --proxy-events FILE    lws-faultproxy JSONL; a fault on our local port\n"
"                         makes that connection's end FAULTED\n"
"  --expect-resume-min P  fail unless >= P %% of reconnects resumed\n"
"  --max-time S           hard limit on the whole run (default 600): a run\n"
"                         still going then is stopped and FAILS (a hang)\n"
"  --check-queue          OpenSSL error queue: at the start of every callback\n"
"                         and after every lws_service() /\n"
"                         lws_client_connect_via_info() / lws_create_context()\n"
"                         return, log, count and clear entries lws left\n"
"                         (JSON \"error_queue\"); inside callbacks run from an\n"
"                         SSL call (server cert verification, SSL_INFO) it\n"
"                         only counts, never clears (OpenSSL API backends)\n"
"  --connect-stall-ms N   block the thread N ms after each\n"
"                         lws_client_connect_via_info() (a busy application):\n"
"                         a peer that speaks first has its bytes waiting\n"
"                         before lws's first SSL_connect()\n"
"  --plant WHERE          push a stale OpenSSL error (ERR_LIB_USER, reason\n"
"                         0x%x+tag, origin this file:line) from WHERE, ordinary\n"
"                         code outside any SSL call; repeatable.  WHERE is\n"
"                         before-connect (right before each\n"
"                         lws_client_connect_via_info()), timer, writeable\n"
"                         (after each message sent) (OpenSSL API backends)\n"
"  --plant-interval-ms N  timer plant period (default 10)\n"
"  --attempt-log N        list the first N attempts in the JSON summary, in\n"
"                         order: established, resumed, end class, end kind,\n"
"                         reason, and (lws-hardened) close cause, first TLS\n"
"                         error and TLS alert number, start time, duration\n"
"  --drain-ms N           at the end, wait up to N ms for echoes (def 5000)\n"
"  --stats-interval S     status line every S s (0 = off, default 1)\n"
"  --json FILE            final JSON summary ('-' = stdout); built against\n"
"                         lws-hardened it also has ends_by_cause (attempt\n"
"                         ends by close cause), first_tls_errors (distinct\n"
"                         first TLS error texts) and hardened_counters (the\n"
"                         library's counters); null on vanilla builds\n"
"  --debug LEVEL          lws log level: number or list (err,warn,notice,...)\n"
"  --no-session-cache     no client TLS session cache (vhost option\n"
"                         LWS_SERVER_OPTION_DISABLE_TLS_SESSION_CACHE):\n"
"                         every handshake is a full one\n"
"  --session-dump-roundtrip  persist the session like an application:\n"
"                         lws_tls_session_dump_save() after every\n"
"                         handshake, lws_tls_session_dump_load() of the last\n"
"                         saved one before every connect (JSON\n"
"                         tls_sessions.session_dump; OpenSSL only)\n"
"  --no-abortive-close   dead links close like vanilla 4.3.5 (ws close,\n"
"                         close_notify, FIN): lws_hardened_abortive_close(0)\n"
"  --help                 this text\n"
"\n"
"Exit status: 0 no collateral end and no lost / corrupted / duplicated /\n"
"out-of-order message on unfaulted connections (and resumption target met);\n"
"1 otherwise; 2 usage or setup error.\n", TH_PLANT_REASON_BASE);
}

enum {
	O_SERVER = 256, O_PATH, O_NO_TLS, O_CA, O_INSECURE, O_CERT, O_KEY,
	O_CONNS, O_MPC, O_DURATION, O_MSG_SIZE, O_WINDOW, O_RATE, O_SEED,
	O_RECONNECT, O_RECONNECT_DELAY, O_MAX_RECONNECTS, O_CLOSE_AFTER,
	O_KEY_UPDATE, O_TLS_MAX, O_MAX_FRAG, O_LARGE, O_SLOW_READ,
	O_PROXY_EVENTS, O_EXPECT_RESUME, O_DRAIN, O_STATS, O_JSON, O_DEBUG,
	O_VPING, O_VPONG, O_ATTEMPT_LOG, O_MAX_TIME, O_CHECK_QUEUE, O_CONNECT_STALL,
	O_PLANT, O_PLANT_INTERVAL, O_CERT_BLOB, O_NO_ABORTIVE, O_NO_SESS_CACHE,
	O_DUMP_ROUNDTRIP, O_START_TOGETHER, O_HELP
};

static const struct option long_opts[] = {
	{ "server", required_argument, NULL, O_SERVER },
	{ "path", required_argument, NULL, O_PATH },
	{ "no-tls", no_argument, NULL, O_NO_TLS },
	{ "ca", required_argument, NULL, O_CA },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "cert", required_argument, NULL, O_CERT },
	{ "cert-from-blob", no_argument, NULL, O_CERT_BLOB },
	{ "key", required_argument, NULL, O_KEY },
	{ "connections", required_argument, NULL, O_CONNS },
	{ "messages-per-conn", required_argument, NULL, O_MPC },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "msg-size", required_argument, NULL, O_MSG_SIZE },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "rate", required_argument, NULL, O_RATE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "reconnect", no_argument, NULL, O_RECONNECT },
	{ "reconnect-delay-ms", required_argument, NULL, O_RECONNECT_DELAY },
	{ "max-reconnects", required_argument, NULL, O_MAX_RECONNECTS },
	{ "close-after", required_argument, NULL, O_CLOSE_AFTER },
	{ "key-update", required_argument, NULL, O_KEY_UPDATE },
	{ "tls-max", required_argument, NULL, O_TLS_MAX },
	{ "max-fragment", required_argument, NULL, O_MAX_FRAG },
	{ "large-request", no_argument, NULL, O_LARGE },
	{ "slow-read-ms", required_argument, NULL, O_SLOW_READ },
	{ "validity-ping", required_argument, NULL, O_VPING },
	{ "validity-pong-timeout", required_argument, NULL, O_VPONG },
	{ "proxy-events", required_argument, NULL, O_PROXY_EVENTS },
	{ "expect-resume-min", required_argument, NULL, O_EXPECT_RESUME },
	{ "drain-ms", required_argument, NULL, O_DRAIN },
	{ "stats-interval", required_argument, NULL, O_STATS },
	{ "json", required_argument, NULL, O_JSON },
	{ "debug", required_argument, NULL, O_DEBUG },
	{ "attempt-log", required_argument, NULL, O_ATTEMPT_LOG },
	{ "max-time", required_argument, NULL, O_MAX_TIME },
	{ "check-queue", no_argument, NULL, O_CHECK_QUEUE },
	{ "connect-stall-ms", required_argument, NULL, O_CONNECT_STALL },
	{ "plant", required_argument, NULL, O_PLANT },
	{ "plant-interval-ms", required_argument, NULL, O_PLANT_INTERVAL },
	{ "no-abortive-close", no_argument, NULL, O_NO_ABORTIVE },
	{ "no-session-cache", no_argument, NULL, O_NO_SESS_CACHE },
	{ "session-dump-roundtrip", no_argument, NULL, O_DUMP_ROUNDTRIP },
	{ "start-together", no_argument, NULL, O_START_TOGETHER },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static void
parse_size_range(const char *s)
{
	const char *dash = strchr(s, '-');
	char a[32];

	if (!dash) {
		opt.msg_min = opt.msg_max =
			(size_t)th_parse_ll("--msg-size", s, 0, 16 << 20);
		return;
	}
	if ((size_t)(dash - s) >= sizeof(a))
		th_die("--msg-size: bad range '%s'", s);
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = '\0';
	opt.msg_min = (size_t)th_parse_ll("--msg-size", a, 0, 16 << 20);
	opt.msg_max = (size_t)th_parse_ll("--msg-size", dash + 1, 0, 16 << 20);
	if (opt.msg_max < opt.msg_min)
		th_die("--msg-size: range '%s' is backwards", s);
}

static void
parse_args(int argc, char **argv)
{
	int c, have_max_reconnects = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER:
			th_parse_hostport("--server", optarg, opt.host,
					  sizeof(opt.host), &opt.port);
			break;
		case O_PATH:
			if (optarg[0] != '/')
				th_die("--path must start with '/'");
			opt.path = optarg;
			break;
		case O_NO_TLS: opt.no_tls = 1; break;
		case O_CA: opt.ca = optarg; break;
		case O_INSECURE: opt.insecure = 1; break;
		case O_CERT: opt.cert = optarg; break;
		case O_CERT_BLOB: opt.cert_from_blob = 1; break;
		case O_NO_ABORTIVE: opt.no_abortive_close = 1; break;
		case O_NO_SESS_CACHE: opt.no_session_cache = 1; break;
		case O_DUMP_ROUNDTRIP: opt.dump_roundtrip = 1; break;
		case O_START_TOGETHER: opt.start_together = 1; break;
		case O_KEY: opt.key = optarg; break;
		case O_CONNS:
			opt.conns = (int)th_parse_ll("--connections", optarg, 1,
						     100000);
			break;
		case O_MPC:
			opt.msgs_per_conn = (unsigned long)th_parse_ll(
				"--messages-per-conn", optarg, 1, 1000000000);
			break;
		case O_DURATION:
			opt.duration = th_parse_double("--duration", optarg,
						       0.1, 86400);
			break;
		case O_MSG_SIZE: parse_size_range(optarg); break;
		case O_WINDOW:
			opt.window = (int)th_parse_ll("--window", optarg, 1,
						      4096);
			break;
		case O_RATE:
			opt.rate = th_parse_double("--rate", optarg, 0.001,
						   1e6);
			break;
		case O_SEED:
			opt.seed = (uint64_t)th_parse_ll("--seed", optarg, 0,
							 LLONG_MAX);
			break;
		case O_RECONNECT: opt.reconnect = 1; break;
		case O_RECONNECT_DELAY:
			opt.reconnect_delay_ms = (int)th_parse_ll(
				"--reconnect-delay-ms", optarg, 0, 3600000);
			break;
		case O_MAX_RECONNECTS:
			opt.max_reconnects = (unsigned long)th_parse_ll(
				"--max-reconnects", optarg, 0, 1000000000);
			have_max_reconnects = 1;
			break;
		case O_CLOSE_AFTER:
			opt.close_after = (unsigned long)th_parse_ll(
				"--close-after", optarg, 1, 1000000000);
			break;
		case O_KEY_UPDATE:
			opt.key_update = (unsigned long)th_parse_ll(
				"--key-update", optarg, 1, 1000000000);
			break;
		case O_TLS_MAX:
			if (!strcmp(optarg, "1.2"))
				opt.tls_max = 12;
			else if (!strcmp(optarg, "1.3"))
				opt.tls_max = 13;
			else
				th_die("--tls-max: expected 1.2 or 1.3, got '%s'",
				       optarg);
			break;
		case O_MAX_FRAG:
			opt.max_fragment = (int)th_parse_ll("--max-fragment",
						optarg, 512, 16384);
			break;
		case O_LARGE: opt.large_request = 1; break;
		case O_VPING:
			opt.validity_ping = (int)th_parse_ll("--validity-ping",
							     optarg, 1, 65535);
			break;
		case O_VPONG:
			opt.validity_hangup = (int)th_parse_ll(
				"--validity-pong-timeout", optarg, 1, 65535);
			break;
		case O_SLOW_READ:
			opt.slow_read_ms = (int)th_parse_ll("--slow-read-ms",
							    optarg, 1, 60000);
			break;
		case O_PROXY_EVENTS: opt.proxy_events = optarg; break;
		case O_CHECK_QUEUE: opt.check_queue = 1; break;
		case O_CONNECT_STALL:
			opt.connect_stall_ms = (int)th_parse_ll(
				"--connect-stall-ms", optarg, 1, 10000);
			break;
		case O_PLANT: {
			int k;

			for (k = 0; k < PL_COUNT; k++)
				if (!strcmp(optarg, plant_names[k]))
					break;
			if (k == PL_COUNT)
				th_die("--plant: unknown place '%s' (see --help)",
				       optarg);
			opt.plant_mask |= 1u << k;
			break;
		}
		case O_PLANT_INTERVAL:
			opt.plant_interval_ms = (int)th_parse_ll(
					"--plant-interval-ms", optarg, 1, 3600000);
			break;
		case O_MAX_TIME:
			opt.max_time = th_parse_double("--max-time", optarg, 1, 86400);
			break;
		case O_ATTEMPT_LOG:
			opt.attempt_log = (unsigned long)th_parse_ll(
				"--attempt-log", optarg, 0, 100000);
			break;
		case O_EXPECT_RESUME:
			opt.expect_resume_min = th_parse_double(
				"--expect-resume-min", optarg, 0, 100);
			break;
		case O_DRAIN:
			opt.drain_ms = (int)th_parse_ll("--drain-ms", optarg, 0,
							600000);
			break;
		case O_STATS:
			opt.stats_interval = th_parse_double("--stats-interval",
							     optarg, 0, 3600);
			break;
		case O_JSON: opt.json_path = optarg; break;
		case O_DEBUG:
			opt.debug = th_lws_parse_debug("--debug", optarg);
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			th_die_bad_option(c, argv);
		}
	}
	th_die_extra_args(argc, argv);

	if (opt.no_tls && (opt.ca || opt.insecure || opt.cert || opt.key ||
			   opt.key_update || opt.tls_max || opt.max_fragment))
		th_die("--no-tls excludes --ca/--insecure/--cert/--key/"
		       "--key-update/--tls-max/--max-fragment");
	if (!opt.no_tls && !opt.ca && !opt.insecure)
		th_die("wss needs --ca FILE (verify the server) or --insecure");
	if (opt.ca && opt.insecure)
		th_die("--ca and --insecure exclude each other");
	if (opt.key_update)
		th_lws_require_ossl("--key-update");
	if (opt.cert_from_blob) {
		th_lws_require_ossl("--cert-from-blob");
		if (!opt.cert || !opt.key)
			th_die("--cert-from-blob needs --cert and --key");
	}
	if (opt.tls_max)
		th_lws_require_ossl("--tls-max");
	if (opt.max_fragment)
		th_lws_require_ossl("--max-fragment");
#if defined(TH_TLS_BACKEND_wolfssl)
	if (opt.max_fragment)
		th_die("--max-fragment: wolfSSL has no SSL_set_max_send_fragment()");
#endif
	if (opt.check_queue)
		th_lws_require_ossl("--check-queue");
	if (opt.plant_mask)
		th_lws_require_ossl("--plant");
	if (opt.plant_interval_ms != 10 && !(opt.plant_mask & (1u << PL_TIMER)))
		th_die("--plant-interval-ms needs --plant timer");
	if (opt.key_update && opt.tls_max == 12)
		th_die("--key-update needs TLS 1.3, not --tls-max 1.2");
	if (!opt.duration && !opt.msgs_per_conn && !opt.close_after)
		opt.msgs_per_conn = 100;
	if (!opt.reconnect && (have_max_reconnects ||
			       opt.reconnect_delay_ms != 10))
		th_die("--max-reconnects/--reconnect-delay-ms need --reconnect");
	if (opt.reconnect && !have_max_reconnects)
		opt.max_reconnects = opt.duration > 0 ? 1000000000ul : 10;
	if (opt.reconnect && !opt.duration && !opt.msgs_per_conn &&
	    !opt.close_after)
		th_die("--reconnect needs --duration, --messages-per-conn or "
		       "--close-after");
	if (opt.expect_resume_min >= 0 && !opt.reconnect)
		th_die("--expect-resume-min needs --reconnect");
	if (opt.expect_resume_min >= 0 && opt.no_tls)
		th_die("--expect-resume-min needs TLS");
	if (opt.msg_min + TH_MSG_HDR_LEN > (16u << 20))
		th_die("--msg-size too large");
	if (opt.validity_hangup && !opt.validity_ping)
		th_die("--validity-pong-timeout needs --validity-ping");
	if (opt.validity_ping && opt.validity_hangup &&
	    opt.validity_hangup <= opt.validity_ping)
		th_die("--validity-pong-timeout must exceed --validity-ping");
	if (opt.validity_ping) {
		retry.secs_since_valid_ping = (uint16_t)opt.validity_ping;
		retry.secs_since_valid_hangup = (uint16_t)(opt.validity_hangup ?
				opt.validity_hangup : opt.validity_ping + 10);
	}
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	uint64_t t_end = 0, t_hard = 0, t_forced = 0;
	int n = 0, i, rc;

	th_set_progname(argv[0]);
	parse_args(argc, argv);
	th_lws_log_init(opt.debug);
	th_lws_signals_install();
	{
		static const char * const sites[] = {
			SITE_SERVICE, SITE_CONNECT, SITE_CREATE, NULL
		};

		th_errq_check_init(&errq, opt.check_queue, sites);
	}
	if (th_lws_raise_nofile(opt.conns + 64) < opt.conns + 32)
		th_die("RLIMIT_NOFILE too low for %d connections", opt.conns);

	slots = calloc((size_t)opt.conns, sizeof(*slots));
	/* every slot's send-time ring, once: --window entries each */
	inflight = calloc((size_t)opt.conns * (size_t)opt.window,
			  sizeof(*inflight));
	if (!slots || !inflight)
		th_die("out of memory");
	for (i = 0; i < opt.conns; i++) {
		slots[i].id = (uint32_t)i;
		slots[i].state = SL_IDLE;
		slots[i].inflight = inflight + (size_t)i * (size_t)opt.window;
	}

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned int)(opt.conns + 64);
	if (!opt.no_tls) {
		th_lws_tls_client_info(&info, opt.ca,
				       opt.cert_from_blob ? NULL : opt.cert,
				       opt.cert_from_blob ? NULL : opt.key);
		/* lws 4.3.5 keeps a client session cache per vhost by default */
		if (opt.no_session_cache)
			info.options |= LWS_SERVER_OPTION_DISABLE_TLS_SESSION_CACHE;
#if defined(TH_HAVE_OSSL_API)	/* wolfSSL takes OpenSSL's option bits */
		if (opt.tls_max == 12)
			info.ssl_client_options_set = SSL_OP_NO_TLSv1_3;
		else if (opt.tls_max == 13)
			info.ssl_client_options_set = SSL_OP_NO_TLSv1_2 |
				SSL_OP_NO_TLSv1_1 | SSL_OP_NO_TLSv1;
#endif
	}

	sockets_before_context = th_count_open_sockets();
	context = lws_create_context(&info);
	th_errq_check_after(&errq, SITE_CREATE, NULL);
	if (!context)
		th_die("lws_create_context failed");
	vhost = lws_get_vhost_by_name(context, "default");
	th_lws_signals_set_context(context);
	if (opt.no_abortive_close)
		th_lws_no_abortive_close(context);
	if (opt.cert_from_blob)
		set_client_cert_blobs();
	t_start = th_now_us();
	if (opt.duration > 0)
		t_end = t_start + (uint64_t)(opt.duration * 1e6);

	lws_sul_schedule(context, 0, &sul_tick, sul_tick_cb, 50 * LWS_US_PER_MS);
	lws_sul_schedule(context, 0, &sul_connect, sul_connect_cb, 1);
	if (opt.stats_interval > 0)
		lws_sul_schedule(context, 0, &sul_stats, sul_stats_cb,
			 (lws_usec_t)(opt.stats_interval * LWS_US_PER_SEC));
	if (opt.plant_mask & (1u << PL_TIMER))
		lws_sul_schedule(context, 0, &sul_plant, sul_plant_cb,
			 (lws_usec_t)opt.plant_interval_ms * LWS_US_PER_MS);

	while (n >= 0) {
		uint64_t now = th_now_us();
		int busy = 0;

		if (!stopping && (th_lws_interrupted() || (t_end && now >= t_end)))
			begin_stop();
		if (!stopping && now >= t_start + (uint64_t)(opt.max_time * 1e6)) {
			th_warn("--max-time %.0fs reached: the run hung", opt.max_time);
			hit_max_time = 1;
			begin_stop();
		}
		if (!stopping && next_to_connect == opt.conns) {
			for (i = 0; i < opt.conns && !busy; i++)
				busy = slots[i].state != SL_DONE;
			if (!busy)
				begin_stop();
		}
		if (stopping) {
			for (i = 0; i < opt.conns && !busy; i++)
				busy = slots[i].state != SL_DONE;
			if (!busy)
				break;
			if (!t_forced && now >= t_stop +
					(uint64_t)opt.drain_ms * 1000u) {
				force_close_all();
				t_forced = now;
				t_hard = now + 3 * LWS_US_PER_SEC;
			}
			if (t_hard && now >= t_hard)
				break;
		}
		n = lws_service(context, 0);
		th_errq_check_after(&errq, SITE_SERVICE, NULL);
	}

	/* whatever is still open ends here, by our hand */
	for (i = 0; i < opt.conns; i++)
		if (slots[i].state == SL_ESTABLISHED ||
		    slots[i].state == SL_CONNECTING)
			slots[i].forced = 1;
	stopping = 1;
	lws_sul_cancel(&sul_tick);
	lws_sul_cancel(&sul_stats);
	lws_sul_cancel(&sul_connect);
	lws_sul_cancel(&sul_plant);
	for (i = 0; i < opt.conns; i++)
		lws_sul_cancel(&slots[i].sul);
	th_lws_counters_snap(&counters, context);
	destroying = 1;
	lws_context_destroy(context);
	th_lws_signals_set_context(NULL);
	sockets_after_destroy = th_count_open_sockets();
	/* ends lws did not report: count them, forced */
	for (i = 0; i < opt.conns; i++)
		if (slots[i].state == SL_ESTABLISHED ||
		    slots[i].state == SL_CONNECTING) {
			slots[i].forced = 1;
			attempt_end(&slots[i], slots[i].state == SL_ESTABLISHED ?
				    END_CLOSED : END_HS_FAIL,
				    "never reported by lws", NULL);
		}

	if (opt.stats_interval > 0)
		print_stats();
	load_proxy_events();
	classify();
	rc = verdict();
	write_summary(rc);
	fprintf(stderr, "%s: %s: ends intended %lu faulted %lu collateral %lu "
		"(established drops %lu, handshake failures %lu), lost %lu "
		"corrupted %lu dup %lu ooo %lu, resumed %lu/%lu reconnects "
		"(%.1f%%)\n", TOOL, rc ? "FAIL" : "OK", res.cls[CL_INTENDED],
		res.cls[CL_FAULTED], res.cls[CL_COLLATERAL],
		res.established_drops, res.hs_fail_collateral, res.lost,
		res.corrupted, res.dup, res.ooo, st.resumed_reconn,
		st.est_reconn, res.resume_rate);

	for (i = 0; i < opt.conns; i++) {
		free(slots[i].rx);
		free(slots[i].tx);
	}
	free(slots);
	free(inflight);
	free(blob_der[0]);
	free(blob_der[1]);
	free(recs);
	free(dump.blob);
	for (i = 0; i < MAX_REASONS; i++)
		free(reasons[i]);
	for (i = 0; i < MAX_TLS_ERRORS; i++)
		free(tls_errors[i]);
	if (pports) {
		for (i = 0; i < 65536; i++)
			free(pports[i].faulted);
		free(pports);
	}

	return rc;
}
