/*
 * lws-faultproxy: a seeded, per-connection fault-injecting TCP proxy
 *
 * Single threaded, poll()-based, for loopback or network-namespace tests.
 * Each accepted client is connected to --upstream and forwarded both ways;
 * a plan drawn from (--seed, connection index) decides whether the
 * connection is broken and how.  Every connection is reported as JSON lines
 * (--events) so a test client can tell the failures it was *meant* to see
 * from real ones: it looks up its own local port ("cport").
 *
 * The proxy knows nothing about TLS beyond the 5-byte record header, which
 * is enough to count records and to aim a corruption at a record body.
 *
 * Data path, per direction ("flow"): bytes read from one socket are
 * "ingested" into a ring buffer (this is where corruption, record counting
 * and triggers happen), then written to the other socket, possibly gated by
 * a delay mark, a split segment gap or an output limit (stall, blackhole).
 * A full ring stops reading that side, so memory stays bounded and the
 * kernel windows carry the backpressure to the sender.
 */
#define _GNU_SOURCE
#include "th-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SIDE_CLIENT, SIDE_SERVER, SIDE_PROXY, SIDE_NONE };
/* flow d reads fd[d] and writes fd[!d]: flow 0 is c2s, flow 1 is s2c */
enum { DIR_C2S, DIR_S2C };
#define DIRM(d)		(1 << (d))
#define DIRM_BOTH	(DIRM(DIR_C2S) | DIRM(DIR_S2C))

enum fault_kind {
	FK_NONE,
	FK_CORRUPT,
	FK_TRUNCATE,
	FK_RST,
	FK_BLACKHOLE,
	FK_STALL,
	FK_SPLIT,
	FK_DELAY,
	FK_DROP_AFTER_HELLO,
	FK_COUNT
};

static const char *const fault_names[FK_COUNT] = {
	"none", "corrupt", "truncate", "rst", "blackhole", "stall", "split",
	"delay", "drop-after-hello"
};

enum trigger { TRIG_NONE, TRIG_START, TRIG_BYTES, TRIG_RECORDS, TRIG_TIME };
static const char *const trigger_names[] = {
	"none", "start", "bytes", "records", "time"
};

enum conn_state {
	ST_OPEN,	/* forwarding (the upstream may still be connecting) */
	ST_FLUSH,	/* a closing fault fired: write out what was accepted */
	ST_DRAIN,	/* FIN sent both ways: read and discard until EOF */
	ST_BLACKHOLE,	/* neither read nor forward until blackhole-ms */
	ST_DONE
};

enum close_mode { CM_FIN, CM_RST };

#define MAX_FAULT_CONN		1024
#define MAX_MARKS		64
#define FLUSH_TIMEOUT_US	1000000ull
#define DRAIN_TIMEOUT_US	2000000ull
#define MAX_WAIT_US		1000000ull
#define TLS_MAX_RECORD_BODY	(16384 + 2048)
#define NO_LIMIT		UINT64_MAX

/* "N" or "A-B", drawn per connection with the seeded generator */
struct range {
	long long lo, hi;
	int set;
};

static struct options {
	char listen_host[256], up_host[256];
	int listen_port, up_port;
	uint64_t seed;
	int seed_set;
	double fraction;
	int kinds[FK_COUNT];
	int nkinds;
	uint64_t fault_conn[MAX_FAULT_CONN];
	int n_fault_conn;
	int dirmask, split_dirmask;
	struct range offset, record, after_bytes, after_records, after_ms;
	struct range stall_ms, blackhole_ms, delay_ms, segment;
	long long record_byte;		/* -1: the last byte of the body */
	long long segment_gap_us;
	int split_all;
	int record_given;
	int drop_mode;
	long long connect_timeout_ms, buf_size, max_conns, max_fds;
	long long exit_after_conns;
	double duration_s, stats_interval_s;
	const char *events_path, *json_path;
} opts;

struct plan {
	int kind;
	int dirmask;
	int split;			/* segment writes (fault or --split-all) */
	int split_dirmask;
	long long offset;		/* corrupt: stream offset, or -1 */
	long long record;		/* corrupt: 1-based record, or -1 */
	long long after_bytes, after_records, after_ms;	/* -1: unused */
	long long stall_ms, blackhole_ms, delay_ms;
};

struct tls_scan {
	uint8_t hdr[5];
	int hdr_have;
	int in_body;
	int not_tls;
	uint32_t body_len, body_pos;
	uint64_t records;		/* complete records seen */
};

/* a chunk of ingested data that may not be written before release_us */
struct mark {
	uint64_t end;
	uint64_t release_us;
};

struct flow {
	uint8_t *ring;
	uint64_t in_pos;		/* bytes accepted for forwarding */
	uint64_t out_pos;		/* bytes written to the destination */
	uint64_t out_limit;		/* stall / blackhole: never write past */
	uint64_t read_total;		/* bytes read, discarded ones included */
	struct tls_scan scan;
	struct mark marks[MAX_MARKS];
	int mark_head, mark_count;
	uint64_t next_write_us;		/* split: segment gap */
	unsigned int eof:1;		/* the source sent FIN */
	unsigned int shut_done:1;	/* we sent FIN to the destination */
	unsigned int discard:1;		/* read but do not forward */
	unsigned int paused:1;		/* do not read at all */
	unsigned int dst_blocked:1;	/* last write hit EAGAIN */
	unsigned int split:1, delay:1;
	unsigned int corrupted:1, split_reported:1;
};

struct conn {
	uint64_t index;
	int fd[2];
	int pidx[2];			/* index in this round's pollfd array */
	short revents[2];
	int up_connected;
	int state;
	int close_mode;
	struct flow flow[2];
	struct plan plan;
	th_rng_t seg_rng;
	char caddr[INET6_ADDRSTRLEN];
	int cport, uport;
	uint64_t t0_us, deadline_us, stall_until_us, blackhole_until_us;
	int fired, stalled;
	int first_closer;
	const char *reason;
	int err;
};

/* run-wide counters for stats and the summary */
static struct totals {
	uint64_t accepted, closed, active, max_active;
	uint64_t planned[FK_COUNT], applied[FK_COUNT];
	uint64_t split_conns, upstream_failed;
	uint64_t bytes[2];
	struct {
		const char *reason;
		uint64_t n;
	} reasons[32];
	int nreasons;
} tot;

static struct sockaddr_storage up_addr;
static socklen_t up_addrlen;
static th_json_t evj;
static FILE *events_f;
static uint64_t t_start_us;
static volatile sig_atomic_t got_signal;
static uint8_t discard_buf[16384];

/* ---- small helpers -------------------------------------------------------- */

static void
wake_at(uint64_t *wake, uint64_t t)
{
	if (t < *wake)
		*wake = t;
}

static long long
range_draw(th_rng_t *r, const struct range *rg)
{
	/* always draw, so one option does not shift every later value */
	uint64_t v = th_rng_below(r, (uint64_t)(rg->hi - rg->lo) + 1);

	return rg->set ? rg->lo + (long long)v : -1;
}

static const char *
dir_name(int dirmask)
{
	switch (dirmask) {
	case DIRM(DIR_C2S):
		return "c2s";
	case DIRM(DIR_S2C):
		return "s2c";
	case DIRM_BOTH:
		return "both";
	}
	return "none";
}

static const char *
side_name(int side)
{
	static const char *const n[] = { "client", "server", "proxy", "none" };

	return n[side];
}

/* "host:port", or "[v6]:port" so the text parses back as an option */
static const char *
fmt_hostport(char *buf, size_t len, const char *host, int port)
{
	snprintf(buf, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);

	return buf;
}

static double
t_rel(uint64_t now)
{
	return (double)(now - t_start_us) / 1e6;
}

/* ---- events --------------------------------------------------------------- */

static int
ev_begin(const char *ev, struct conn *c, uint64_t now)
{
	if (!events_f)
		return 0;

	th_json_obj_open(&evj, NULL);
	th_json_str(&evj, "ev", ev);
	th_json_double(&evj, "t", t_rel(now));
	if (c) {
		th_json_uint(&evj, "conn", c->index);
		th_json_int(&evj, "cport", c->cport);
	}

	return 1;
}

static void
ev_end(void)
{
	th_json_obj_close(&evj);
}

static void
plan_json(th_json_t *j, const struct plan *p)
{
	th_json_str(j, "fault", fault_names[p->kind]);
	th_json_bool(j, "split", p->split);
	if (p->split) {
		th_json_str(j, "split_dir", dir_name(p->split_dirmask));
		th_json_int(j, "segment_min", opts.segment.lo);
		th_json_int(j, "segment_max", opts.segment.hi);
		th_json_int(j, "segment_gap_us", opts.segment_gap_us);
	}
	if (p->kind == FK_NONE || p->kind == FK_SPLIT)
		return;

	th_json_str(j, "dir", dir_name(p->dirmask));
	switch (p->kind) {
	case FK_CORRUPT:
		if (p->offset >= 0)
			th_json_int(j, "offset", p->offset);
		else {
			th_json_int(j, "record", p->record);
			th_json_int(j, "record_byte", opts.record_byte);
		}
		return;
	case FK_DELAY:
		th_json_int(j, "delay_ms", p->delay_ms);
		return;
	case FK_STALL:
		th_json_int(j, "stall_ms", p->stall_ms);
		break;
	case FK_BLACKHOLE:
		th_json_int(j, "blackhole_ms", p->blackhole_ms);
		break;
	case FK_DROP_AFTER_HELLO:
		th_json_str(j, "drop_mode", opts.drop_mode == CM_RST ?
							"rst" : "fin");
		break;
	}
	if (p->after_bytes >= 0)
		th_json_int(j, "after_bytes", p->after_bytes);
	if (p->after_records >= 0)
		th_json_int(j, "after_records", p->after_records);
	if (p->after_ms >= 0)
		th_json_int(j, "after_ms", p->after_ms);
}

/* ---- the plan --------------------------------------------------------------- */

static int
is_fault_conn(uint64_t index)
{
	int n;

	for (n = 0; n < opts.n_fault_conn; n++)
		if (opts.fault_conn[n] == index)
			return 1;

	return 0;
}

static int
fk_is_triggered(int kind)
{
	return kind == FK_TRUNCATE || kind == FK_RST || kind == FK_BLACKHOLE ||
	       kind == FK_STALL || kind == FK_DROP_AFTER_HELLO;
}

/*
 * The plan depends only on (seed, index): every draw happens whatever the
 * outcome, in a fixed order, from a generator forked for this connection.
 */
static void
plan_make(struct plan *p, uint64_t index)
{
	th_rng_t r;
	double u;
	uint64_t pick;

	th_rng_fork(&r, opts.seed, index);
	u = th_rng_unit(&r);
	pick = th_rng_below(&r, (uint64_t)(opts.nkinds ? opts.nkinds : 1));

	memset(p, 0, sizeof(*p));
	p->offset = range_draw(&r, &opts.offset);
	p->record = range_draw(&r, &opts.record);
	p->after_bytes = range_draw(&r, &opts.after_bytes);
	p->after_records = range_draw(&r, &opts.after_records);
	p->after_ms = range_draw(&r, &opts.after_ms);
	p->stall_ms = range_draw(&r, &opts.stall_ms);
	p->blackhole_ms = range_draw(&r, &opts.blackhole_ms);
	p->delay_ms = range_draw(&r, &opts.delay_ms);

	p->kind = FK_NONE;
	if (opts.nkinds && (u < opts.fraction || is_fault_conn(index)))
		p->kind = opts.kinds[pick];

	p->dirmask = opts.dirmask;
	p->split_dirmask = opts.split_dirmask;
	if (p->kind == FK_SPLIT) {
		p->split = 1;
		p->split_dirmask = opts.dirmask;
	} else if (opts.split_all)
		p->split = 1;

	if (p->kind == FK_CORRUPT && p->offset >= 0)
		p->record = -1;
	if (p->kind == FK_DROP_AFTER_HELLO) {
		/* the ClientHello is the first c2s record, whatever --dir says */
		p->dirmask = DIRM(DIR_C2S);
		p->after_bytes = -1;
		p->after_ms = -1;
		p->after_records = 1;
	}
}

/* ---- sockets ----------------------------------------------------------------- */

static void
sock_nodelay(int fd)
{
	int one = 1;

	/* also what makes each split segment its own TCP segment */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
sock_close(int *fd, int abortive)
{
	if (*fd < 0)
		return;
	if (abortive) {
		/* linger {1, 0}: close() sends RST and drops unsent data */
		struct linger l = { 1, 0 };

		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(*fd);
	*fd = -1;
}

static int
sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;

	return err;
}

static void
resolve(const char *opt, const char *host, int port,
	struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;
	char portstr[16];
	int rc;

	/* numeric only: the proxy must never reach out to a resolver */
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);

	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc)
		th_die("%s: '%s' is not a numeric address: %s", opt, host,
		       gai_strerror(rc));

	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

static void
addr_to_str(const struct sockaddr_storage *ss, char *buf, size_t len,
	    int *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
		*port = ntohs(s6->sin6_port);
		return;
	}

	inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		  (socklen_t)len);
	*port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[INET6_ADDRSTRLEN];
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_to_str(&ss, buf, sizeof(buf), &port);

	return port;
}

/* ---- closing ------------------------------------------------------------------ */

static void
count_reason(const char *reason)
{
	int n;

	for (n = 0; n < tot.nreasons; n++)
		if (!strcmp(tot.reasons[n].reason, reason)) {
			tot.reasons[n].n++;
			return;
		}

	if (tot.nreasons < (int)(sizeof(tot.reasons) / sizeof(tot.reasons[0]))) {
		tot.reasons[tot.nreasons].reason = reason;
		tot.reasons[tot.nreasons++].n = 1;
	}
}

/* the first cause wins: later errors are consequences of it */
static void
conn_set_cause(struct conn *c, int closer, const char *reason, int err)
{
	if (c->first_closer == SIDE_NONE)
		c->first_closer = closer;
	if (!c->reason) {
		c->reason = reason;
		c->err = err;
	}
}

static void
conn_report_closed(struct conn *c, uint64_t now)
{
	int d;

	for (d = 0; d < 2; d++)
		tot.bytes[d] += c->flow[d].out_pos;
	if (!c->reason)
		c->reason = "unknown";
	count_reason(c->reason);

	if (!ev_begin("closed", c, now))
		return;
	th_json_str(&evj, "fault", fault_names[c->plan.kind]);
	th_json_bool(&evj, "fault_applied", c->fired);
	th_json_str(&evj, "reason", c->reason);
	if (c->err)
		th_json_str(&evj, "error", strerror(c->err));
	th_json_str(&evj, "first_close", side_name(c->first_closer));
	th_json_double(&evj, "duration_s", (double)(now - c->t0_us) / 1e6);
	th_json_uint(&evj, "c2s_bytes", c->flow[DIR_C2S].out_pos);
	th_json_uint(&evj, "s2c_bytes", c->flow[DIR_S2C].out_pos);
	th_json_uint(&evj, "c2s_read", c->flow[DIR_C2S].read_total);
	th_json_uint(&evj, "s2c_read", c->flow[DIR_S2C].read_total);
	th_json_uint(&evj, "c2s_records", c->flow[DIR_C2S].scan.records);
	th_json_uint(&evj, "s2c_records", c->flow[DIR_S2C].scan.records);
	th_json_bool(&evj, "tls", !c->flow[DIR_C2S].scan.not_tls &&
				  !c->flow[DIR_S2C].scan.not_tls);
	ev_end();
}

static void
conn_end(struct conn *c, int abortive, int closer, const char *reason,
	 int err, uint64_t now)
{
	conn_set_cause(c, closer, reason, err);
	sock_close(&c->fd[SIDE_CLIENT], abortive);
	sock_close(&c->fd[SIDE_SERVER], abortive);
	conn_report_closed(c, now);
	c->state = ST_DONE;
}

/*
 * A socket error on one side: pass the abort on to the other side as a RST,
 * as the peer would have seen it without a proxy in between.
 */
static void
conn_error(struct conn *c, int side, int err, uint64_t now)
{
	static const char *const reset[] = { "client-reset", "server-reset" };
	static const char *const error[] = { "client-error", "server-error" };

	if (c->state == ST_DRAIN) {
		/* we already said goodbye; this side is just finished */
		c->flow[side].eof = 1;
		return;
	}

	conn_end(c, 1, side, err == ECONNRESET ? reset[side] : error[side],
		 err, now);
}

static void
conn_upstream_failed(struct conn *c, int err, uint64_t now)
{
	tot.upstream_failed++;
	if (ev_begin("upstream_failed", c, now)) {
		th_json_str(&evj, "error", strerror(err));
		ev_end();
	}
	/* RST: as close as a proxy gets to "connection refused" */
	conn_end(c, 1, SIDE_SERVER, "upstream-connect-failed", err, now);
}

/* ---- faults ----------------------------------------------------------------- */

static int
trigger_armed(const struct conn *c, int d)
{
	return fk_is_triggered(c->plan.kind) && !c->fired &&
	       c->state == ST_OPEN && (c->plan.dirmask & DIRM(d));
}

static void
conn_begin_close(struct conn *c, int mode, uint64_t now)
{
	const char *reason;
	int d;

	for (d = 0; d < 2; d++) {
		c->flow[d].discard = 1;
		c->flow[d].paused = 0;
	}
	c->close_mode = mode;
	c->state = ST_FLUSH;
	c->deadline_us = now + FLUSH_TIMEOUT_US;

	switch (c->plan.kind) {
	case FK_RST:
		reason = "fault-rst";
		break;
	case FK_TRUNCATE:
		reason = "fault-truncate";
		break;
	default:
		reason = "fault-drop-after-hello";
		break;
	}
	conn_set_cause(c, SIDE_PROXY, reason, 0);
}

static void
fault_report_fire(struct conn *c, int d, int why, uint64_t now)
{
	if (!ev_begin("fault_applied", c, now))
		return;
	th_json_str(&evj, "fault", fault_names[c->plan.kind]);
	th_json_str(&evj, "trigger", trigger_names[why]);
	th_json_str(&evj, "dir", d < 0 ? "none" : dir_name(DIRM(d)));
	th_json_double(&evj, "t_conn_s", (double)(now - c->t0_us) / 1e6);
	th_json_uint(&evj, "c2s_bytes", c->flow[DIR_C2S].in_pos);
	th_json_uint(&evj, "s2c_bytes", c->flow[DIR_S2C].in_pos);
	th_json_uint(&evj, "c2s_records", c->flow[DIR_C2S].scan.records);
	th_json_uint(&evj, "s2c_records", c->flow[DIR_S2C].scan.records);
	ev_end();
}

static void
fault_mark_applied(struct conn *c)
{
	if (c->fired)
		return;
	c->fired = 1;
	tot.applied[c->plan.kind]++;
}

/* a triggered fault's moment has come (d: the flow that tripped, or -1) */
static void
fault_fire(struct conn *c, int d, int why, uint64_t now)
{
	struct plan *p = &c->plan;
	int n;

	fault_mark_applied(c);
	fault_report_fire(c, d, why, now);

	switch (p->kind) {
	case FK_STALL:
		for (n = 0; n < 2; n++)
			if (p->dirmask & DIRM(n)) {
				c->flow[n].out_limit = c->flow[n].in_pos;
				c->flow[n].paused = 1;
			}
		c->stalled = 1;
		c->stall_until_us = now + (uint64_t)p->stall_ms * 1000;
		break;

	case FK_BLACKHOLE:
		/* what was accepted before the trigger still goes out */
		for (n = 0; n < 2; n++) {
			c->flow[n].out_limit = c->flow[n].in_pos;
			c->flow[n].paused = 1;
		}
		c->state = ST_BLACKHOLE;
		c->blackhole_until_us = p->blackhole_ms > 0 ?
				now + (uint64_t)p->blackhole_ms * 1000 : 0;
		break;

	case FK_RST:
		conn_begin_close(c, CM_RST, now);
		break;
	case FK_TRUNCATE:
		conn_begin_close(c, CM_FIN, now);
		break;
	case FK_DROP_AFTER_HELLO:
		conn_begin_close(c, opts.drop_mode, now);
		break;
	}
}

static void
fault_check_start(struct conn *c, uint64_t now)
{
	const struct plan *p = &c->plan;

	if (!fk_is_triggered(p->kind))
		return;
	if (!p->after_bytes || !p->after_records || !p->after_ms)
		fault_fire(c, -1, TRIG_START, now);
}

/* flip one byte of a stream that is passing through */
static void
corrupt_byte(struct conn *c, int d, uint8_t *b, uint64_t stream_off,
	     long long record, uint32_t body_off, uint32_t body_len,
	     uint64_t now)
{
	struct flow *f = &c->flow[d];
	uint8_t was = *b;

	*b ^= 0xff;
	f->corrupted = 1;
	fault_mark_applied(c);

	if (!ev_begin("fault_applied", c, now))
		return;
	th_json_str(&evj, "fault", "corrupt");
	th_json_str(&evj, "dir", dir_name(DIRM(d)));
	th_json_double(&evj, "t_conn_s", (double)(now - c->t0_us) / 1e6);
	th_json_uint(&evj, "stream_offset", stream_off);
	if (record > 0) {
		th_json_int(&evj, "record", record);
		th_json_uint(&evj, "record_len", body_len);
		th_json_uint(&evj, "body_offset", body_off);
	}
	th_json_int(&evj, "old", was);
	th_json_int(&evj, "new", *b);
	ev_end();
}

static int
corrupt_wanted(const struct conn *c, int d)
{
	return c->plan.kind == FK_CORRUPT && (c->plan.dirmask & DIRM(d)) &&
	       !c->flow[d].corrupted;
}

static void
corrupt_at_offset(struct conn *c, int d, uint8_t *p, size_t n, uint64_t now)
{
	struct flow *f = &c->flow[d];
	uint64_t off = (uint64_t)c->plan.offset;

	if (!corrupt_wanted(c, d) || c->plan.offset < 0)
		return;
	if (off >= f->in_pos && off < f->in_pos + n)
		corrupt_byte(c, d, p + (off - f->in_pos), off, -1, 0, 0, now);
}

/* the body chunk p[0..take) starts at body offset s->body_pos */
static void
corrupt_in_record(struct conn *c, int d, uint8_t *p, size_t take,
		  uint64_t stream_off, uint64_t now)
{
	struct tls_scan *s = &c->flow[d].scan;
	uint32_t target;

	if (!corrupt_wanted(c, d) || c->plan.record < 0 ||
	    s->records + 1 != (uint64_t)c->plan.record)
		return;

	target = s->body_len - 1;
	if (opts.record_byte >= 0 && opts.record_byte < (long long)target)
		target = (uint32_t)opts.record_byte;
	if (target < s->body_pos || target >= s->body_pos + take)
		return;

	corrupt_byte(c, d, p + (target - s->body_pos),
		     stream_off + (target - s->body_pos), c->plan.record,
		     target, s->body_len, now);
}

static int
tls_header_plausible(const uint8_t *h)
{
	unsigned int len = ((unsigned int)h[3] << 8) | h[4];

	/* content types 20..24 (ccs, alert, handshake, data, heartbeat) */
	return h[0] >= 20 && h[0] <= 24 && h[1] == 3 && h[2] <= 4 &&
	       len <= TLS_MAX_RECORD_BODY;
}

/*
 * Follow the TLS record framing over the accepted bytes p[0..n).  Returns how
 * many of them to accept: fewer than n when the record trigger falls inside.
 */
static size_t
tls_scan(struct conn *c, int d, uint8_t *p, size_t n, int *why, uint64_t now)
{
	struct flow *f = &c->flow[d];
	struct tls_scan *s = &f->scan;
	size_t i = 0, take;

	while (i < n && !s->not_tls) {
		if (!s->in_body) {
			s->hdr[s->hdr_have++] = p[i++];
			if (s->hdr_have < 5)
				continue;
			s->hdr_have = 0;
			if (!tls_header_plausible(s->hdr)) {
				s->not_tls = 1;
				break;
			}
			s->body_len = ((uint32_t)s->hdr[3] << 8) | s->hdr[4];
			s->body_pos = 0;
			if (s->body_len) {
				s->in_body = 1;
				continue;
			}
		} else {
			take = s->body_len - s->body_pos;
			if (take > n - i)
				take = n - i;
			corrupt_in_record(c, d, p + i, take, f->in_pos + i, now);
			i += take;
			s->body_pos += (uint32_t)take;
			if (s->body_pos < s->body_len)
				continue;
			s->in_body = 0;
		}

		s->records++;
		if (trigger_armed(c, d) && c->plan.after_records > 0 &&
		    s->records >= (uint64_t)c->plan.after_records) {
			*why = TRIG_RECORDS;
			return i;
		}
	}

	return n;
}

/* ---- the data path ------------------------------------------------------------- */

static int
flow_can_read(const struct conn *c, int d)
{
	const struct flow *f = &c->flow[d];

	if (c->fd[d] < 0 || f->eof || f->paused || c->state == ST_DONE)
		return 0;
	if (d == SIDE_SERVER && !c->up_connected)
		return 0;
	if (f->discard)
		return 1;
	if (f->in_pos - f->out_pos >= (uint64_t)opts.buf_size)
		return 0;

	return !f->delay || f->mark_count < MAX_MARKS;
}

/* bytes of flow d that may be written right now; *wake: when more may */
static size_t
flow_ready(struct conn *c, int d, uint64_t now, uint64_t *wake)
{
	struct flow *f = &c->flow[d];
	uint64_t end = f->in_pos < f->out_limit ? f->in_pos : f->out_limit;
	int i;

	if (c->state == ST_DRAIN || c->state == ST_DONE || f->shut_done ||
	    c->fd[!d] < 0 || (d == DIR_C2S && !c->up_connected) ||
	    end <= f->out_pos)
		return 0;

	if (f->split && opts.segment_gap_us && now < f->next_write_us) {
		wake_at(wake, f->next_write_us);
		return 0;
	}

	if (f->delay) {
		/* every accepted byte belongs to a mark; stop at the first
		 * mark still being held */
		uint64_t released = f->out_pos;

		while (f->mark_count &&
		       f->marks[f->mark_head].end <= f->out_pos) {
			f->mark_head = (f->mark_head + 1) % MAX_MARKS;
			f->mark_count--;
		}
		for (i = 0; i < f->mark_count; i++) {
			struct mark *m = &f->marks[(f->mark_head + i) %
								MAX_MARKS];

			if (m->release_us > now) {
				wake_at(wake, m->release_us);
				break;
			}
			released = m->end;
		}
		if (released < end)
			end = released;
	}

	return end > f->out_pos ? (size_t)(end - f->out_pos) : 0;
}

static void
flow_push_mark(struct conn *c, int d, uint64_t now)
{
	struct flow *f = &c->flow[d];
	int tail = (f->mark_head + f->mark_count) % MAX_MARKS;

	/* flow_can_read() keeps a slot free before every read */
	f->marks[tail].end = f->in_pos;
	f->marks[tail].release_us = now + (uint64_t)c->plan.delay_ms * 1000;
	f->mark_count++;

	if (c->fired)
		return;
	fault_mark_applied(c);
	if (!ev_begin("fault_applied", c, now))
		return;
	th_json_str(&evj, "fault", "delay");
	th_json_str(&evj, "dir", dir_name(DIRM(d)));
	th_json_double(&evj, "t_conn_s", (double)(now - c->t0_us) / 1e6);
	th_json_int(&evj, "delay_ms", c->plan.delay_ms);
	ev_end();
}

/* account for n freshly read bytes at p; they are already in the ring */
static void
flow_ingest(struct conn *c, int d, uint8_t *p, size_t n, uint64_t now)
{
	struct flow *f = &c->flow[d];
	int why = TRIG_NONE;
	size_t k = n;

	if (trigger_armed(c, d) && c->plan.after_bytes > 0 &&
	    f->in_pos + n >= (uint64_t)c->plan.after_bytes) {
		k = (size_t)((uint64_t)c->plan.after_bytes - f->in_pos);
		why = TRIG_BYTES;
	}

	corrupt_at_offset(c, d, p, k, now);
	k = tls_scan(c, d, p, k, &why, now);

	/* bytes past a trigger are read but never forwarded */
	f->in_pos += k;
	if (f->delay && k)
		flow_push_mark(c, d, now);

	if (why != TRIG_NONE)
		fault_fire(c, d, why, now);
}

static void
flow_read(struct conn *c, int d, uint64_t now)
{
	struct flow *f = &c->flow[d];
	size_t idx, space;
	uint8_t *p;
	ssize_t n;
	int tries;

	for (tries = 0; tries < 8 && flow_can_read(c, d); tries++) {
		if (f->discard) {
			p = discard_buf;
			space = sizeof(discard_buf);
		} else {
			idx = (size_t)(f->in_pos % (uint64_t)opts.buf_size);
			space = (size_t)opts.buf_size - idx;
			if (space > (size_t)opts.buf_size -
					(size_t)(f->in_pos - f->out_pos))
				space = (size_t)opts.buf_size -
					(size_t)(f->in_pos - f->out_pos);
			p = f->ring + idx;
		}

		n = recv(c->fd[d], p, space, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_error(c, d, errno, now);
			return;
		}
		if (!n) {
			f->eof = 1;
			if (c->first_closer == SIDE_NONE)
				c->first_closer = d;
			return;
		}

		f->read_total += (uint64_t)n;
		if (!f->discard)
			flow_ingest(c, d, p, (size_t)n, now);
	}
}

static size_t
split_segment(struct conn *c)
{
	return (size_t)opts.segment.lo + (size_t)th_rng_below(&c->seg_rng,
			(uint64_t)(opts.segment.hi - opts.segment.lo) + 1);
}

static void
flow_report_split(struct conn *c, int d, uint64_t now)
{
	struct flow *f = &c->flow[d];

	f->split_reported = 1;
	if (c->plan.kind == FK_SPLIT)
		fault_mark_applied(c);
	if (!ev_begin("split_started", c, now))
		return;
	th_json_str(&evj, "dir", dir_name(DIRM(d)));
	th_json_bool(&evj, "is_fault", c->plan.kind == FK_SPLIT);
	ev_end();
}

static void
flow_write(struct conn *c, int d, uint64_t now)
{
	struct flow *f = &c->flow[d];
	uint64_t unused = NO_LIMIT;
	size_t n, idx;
	ssize_t w;
	int tries;

	/* bounded: split writes many tiny segments, the rest one or two */
	for (tries = 0; tries < 256 && !f->dst_blocked; tries++) {
		n = flow_ready(c, d, now, &unused);
		if (!n)
			return;
		idx = (size_t)(f->out_pos % (uint64_t)opts.buf_size);
		if (n > (size_t)opts.buf_size - idx)
			n = (size_t)opts.buf_size - idx;
		if (f->split) {
			size_t seg = split_segment(c);

			if (n > seg)
				n = seg;
			if (!f->split_reported)
				flow_report_split(c, d, now);
		}

		w = send(c->fd[!d], f->ring + idx, n,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				f->dst_blocked = 1;
			else
				conn_error(c, !d, errno, now);
			return;
		}

		f->out_pos += (uint64_t)w;
		if (f->split && opts.segment_gap_us) {
			f->next_write_us = now + (uint64_t)opts.segment_gap_us;
			return;
		}
	}
}

/* ---- connection life ------------------------------------------------------------ */

static int
conn_flushed(const struct conn *c)
{
	const struct flow *f;
	uint64_t end;
	int d;

	for (d = 0; d < 2; d++) {
		f = &c->flow[d];
		end = f->in_pos < f->out_limit ? f->in_pos : f->out_limit;
		if (c->fd[!d] >= 0 && (d != DIR_C2S || c->up_connected) &&
		    f->out_pos < end)
			return 0;
	}

	return 1;
}

static void
conn_begin_drain(struct conn *c, uint64_t now)
{
	int side;

	for (side = 0; side < 2; side++) {
		if (side == SIDE_SERVER && !c->up_connected) {
			c->flow[side].eof = 1;
			continue;
		}
		shutdown(c->fd[side], SHUT_WR);
		c->flow[!side].shut_done = 1;
	}
	c->state = ST_DRAIN;
	c->deadline_us = now + DRAIN_TIMEOUT_US;
}

static void
conn_half_close(struct conn *c, uint64_t now)
{
	struct flow *f;
	int d;

	for (d = 0; d < 2; d++) {
		f = &c->flow[d];
		if (!f->eof || f->shut_done || f->out_pos < f->in_pos ||
		    (d == DIR_C2S && !c->up_connected))
			continue;
		/* pass the FIN on once everything before it went out */
		shutdown(c->fd[!d], SHUT_WR);
		f->shut_done = 1;
	}

	if (c->flow[DIR_C2S].shut_done && c->flow[DIR_S2C].shut_done)
		conn_end(c, 0, SIDE_NONE, "eof", 0, now);
}

static void
conn_progress(struct conn *c, uint64_t now)
{
	switch (c->state) {
	case ST_OPEN:
		conn_half_close(c, now);
		break;
	case ST_FLUSH:
		if (!conn_flushed(c) && now < c->deadline_us)
			break;
		if (c->close_mode == CM_RST)
			conn_end(c, 1, SIDE_PROXY, NULL, 0, now);
		else
			conn_begin_drain(c, now);
		break;
	case ST_DRAIN:
		if ((c->flow[0].eof && c->flow[1].eof) || now >= c->deadline_us)
			conn_end(c, 0, SIDE_PROXY, NULL, 0, now);
		break;
	}
}

static void
conn_timers(struct conn *c, uint64_t now)
{
	const struct plan *p = &c->plan;
	int d;

	if (c->state == ST_OPEN && !c->up_connected &&
	    now >= c->deadline_us) {
		conn_upstream_failed(c, ETIMEDOUT, now);
		return;
	}

	if (fk_is_triggered(p->kind) && !c->fired && c->state == ST_OPEN &&
	    p->after_ms > 0 && now >= c->t0_us + (uint64_t)p->after_ms * 1000)
		fault_fire(c, -1, TRIG_TIME, now);

	if (c->stalled && now >= c->stall_until_us) {
		for (d = 0; d < 2; d++) {
			c->flow[d].paused = 0;
			c->flow[d].out_limit = NO_LIMIT;
		}
		c->stalled = 0;
		if (ev_begin("stall_end", c, now))
			ev_end();
	}

	if (c->state == ST_BLACKHOLE && c->blackhole_until_us &&
	    now >= c->blackhole_until_us)
		conn_end(c, 0, SIDE_PROXY, "blackhole-end", 0, now);
}

static void
conn_check_connect(struct conn *c, uint64_t now)
{
	int err;

	if (!(c->revents[SIDE_SERVER] & (POLLOUT | POLLERR | POLLHUP)))
		return;

	err = sock_error(c->fd[SIDE_SERVER]);
	if (err) {
		conn_upstream_failed(c, err, now);
		return;
	}

	c->up_connected = 1;
	c->revents[SIDE_SERVER] = 0;
}

static void
conn_service(struct conn *c, uint64_t now)
{
	short re;
	int side, err;

	if (c->state == ST_OPEN && !c->up_connected)
		conn_check_connect(c, now);

	for (side = 0; side < 2 && c->state != ST_DONE; side++) {
		re = c->revents[side];
		if (re & POLLOUT)
			c->flow[!side].dst_blocked = 0;
		if ((re & (POLLIN | POLLHUP | POLLERR)) &&
		    flow_can_read(c, side)) {
			flow_read(c, side, now);
			continue;
		}
		if ((re & POLLERR) && (err = sock_error(c->fd[side])))
			conn_error(c, side, err, now);
	}

	if (c->state != ST_DONE)
		conn_timers(c, now);

	for (side = 0; side < 2 && c->state != ST_DONE; side++)
		flow_write(c, side, now);

	if (c->state != ST_DONE)
		conn_progress(c, now);
}

/* pollfd events for one side; 0 means "leave this fd out of the round" */
static short
conn_poll_events(struct conn *c, int side, uint64_t now, uint64_t *wake)
{
	short ev = 0;

	if (c->fd[side] < 0 || c->state == ST_DONE)
		return 0;
	if (side == SIDE_SERVER && !c->up_connected)
		return c->state == ST_OPEN ? POLLOUT : 0;

	if (flow_can_read(c, side))
		ev |= POLLIN;
	if (flow_ready(c, !side, now, wake)) {
		if (c->flow[!side].dst_blocked)
			ev |= POLLOUT;
		else
			*wake = now; /* more to write at once */
	}

	return ev;
}

static void
conn_wake(const struct conn *c, uint64_t *wake)
{
	const struct plan *p = &c->plan;

	if (c->state == ST_OPEN && !c->up_connected)
		wake_at(wake, c->deadline_us);
	if (c->state == ST_FLUSH || c->state == ST_DRAIN)
		wake_at(wake, c->deadline_us);
	if (fk_is_triggered(p->kind) && !c->fired && p->after_ms > 0)
		wake_at(wake, c->t0_us + (uint64_t)p->after_ms * 1000);
	if (c->stalled)
		wake_at(wake, c->stall_until_us);
	if (c->state == ST_BLACKHOLE && c->blackhole_until_us)
		wake_at(wake, c->blackhole_until_us);
}

static void
conn_free(struct conn *c)
{
	sock_close(&c->fd[SIDE_CLIENT], 0);
	sock_close(&c->fd[SIDE_SERVER], 0);
	free(c->flow[0].ring);
	free(c->flow[1].ring);
	free(c);
}

static void
conn_report_accepted(struct conn *c, uint64_t now)
{
	if (!ev_begin("accepted", c, now))
		return;
	th_json_str(&evj, "client", c->caddr);
	th_json_int(&evj, "uport", c->uport);
	plan_json(&evj, &c->plan);
	ev_end();
}

static void
conn_setup_flows(struct conn *c)
{
	int d;

	for (d = 0; d < 2; d++) {
		c->flow[d].out_limit = NO_LIMIT;
		c->flow[d].split = c->plan.split &&
				   (c->plan.split_dirmask & DIRM(d));
		c->flow[d].delay = c->plan.kind == FK_DELAY &&
				   (c->plan.dirmask & DIRM(d));
	}
}

static void
conn_connect_upstream(struct conn *c, uint64_t now)
{
	int fd;

	fd = socket(up_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
							SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->err = errno;
		return;
	}
	c->fd[SIDE_SERVER] = fd;
	sock_nodelay(fd);

	if (!connect(fd, (struct sockaddr *)&up_addr, up_addrlen))
		c->up_connected = 1;
	else if (errno != EINPROGRESS)
		c->err = errno;

	c->uport = local_port(fd);
	c->deadline_us = now + (uint64_t)opts.connect_timeout_ms * 1000;
}

static struct conn *
conn_new(int cfd, const struct sockaddr_storage *peer, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	int err;

	if (c) {
		c->flow[0].ring = malloc((size_t)opts.buf_size);
		c->flow[1].ring = malloc((size_t)opts.buf_size);
	}
	if (!c || !c->flow[0].ring || !c->flow[1].ring) {
		th_warn("out of memory: dropping a connection");
		if (c) {
			free(c->flow[0].ring);
			free(c->flow[1].ring);
			free(c);
		}
		sock_close(&cfd, 1);
		return NULL;
	}

	c->index = tot.accepted++;
	c->fd[SIDE_CLIENT] = cfd;
	c->fd[SIDE_SERVER] = -1;
	c->pidx[0] = c->pidx[1] = -1;
	c->t0_us = now;
	c->first_closer = SIDE_NONE;
	addr_to_str(peer, c->caddr, sizeof(c->caddr), &c->cport);
	sock_nodelay(cfd);

	plan_make(&c->plan, c->index);
	th_rng_fork(&c->seg_rng, opts.seed ^ 0x5eed5e65ull, c->index);
	conn_setup_flows(c);
	tot.planned[c->plan.kind]++;
	if (c->plan.split && c->plan.kind != FK_SPLIT)
		tot.split_conns++;

	conn_connect_upstream(c, now);
	conn_report_accepted(c, now);

	if (c->err) {
		err = c->err;
		c->err = 0;
		conn_upstream_failed(c, err, now);
		return c;
	}

	fault_check_start(c, now);

	return c;
}

/* ---- the server ------------------------------------------------------------------ */

static int
listen_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	resolve("--listen", opts.listen_host, opts.listen_port, &ss, &len);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		th_die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		th_die("--listen %s:%d: %s", opts.listen_host,
		       opts.listen_port, strerror(errno));
	if (listen(fd, 1024) < 0)
		th_die("listen: %s", strerror(errno));

	opts.listen_port = local_port(fd);

	return fd;
}

struct server {
	int lfd;
	struct conn **conns;
	int nconns, max_conns;
	struct pollfd *pfds;
	uint64_t accept_pause_until;
	uint64_t next_stats_us, end_us;
	const char *exit_reason;
};

static void
server_accept(struct server *s, uint64_t now)
{
	struct sockaddr_storage peer;
	socklen_t len;
	struct conn *c;
	int fd, n;

	for (n = 0; n < 64 && s->nconns < s->max_conns; n++) {
		len = sizeof(peer);
		fd = accept4(s->lfd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* EMFILE & co: let the backlog wait a bit */
				th_warn("accept: %s", strerror(errno));
				s->accept_pause_until = now + 100000;
			}
			return;
		}

		c = conn_new(fd, &peer, now);
		if (!c)
			continue;
		s->conns[s->nconns++] = c;
		tot.active = (uint64_t)s->nconns;
		if (tot.active > tot.max_active)
			tot.max_active = tot.active;
	}
}

static int
server_build_pollfds(struct server *s, uint64_t now, uint64_t *wake)
{
	struct conn *c;
	int n = 0, i, side;
	short ev;

	if (s->nconns < s->max_conns && now >= s->accept_pause_until) {
		s->pfds[n].fd = s->lfd;
		s->pfds[n++].events = POLLIN;
	} else if (s->accept_pause_until > now)
		wake_at(wake, s->accept_pause_until);

	for (i = 0; i < s->nconns; i++) {
		c = s->conns[i];
		conn_wake(c, wake);
		for (side = 0; side < 2; side++) {
			c->pidx[side] = -1;
			c->revents[side] = 0;
			ev = conn_poll_events(c, side, now, wake);
			if (!ev)
				continue;
			c->pidx[side] = n;
			s->pfds[n].fd = c->fd[side];
			s->pfds[n].events = ev;
			s->pfds[n++].revents = 0;
		}
	}

	return n;
}

static void
server_reap(struct server *s)
{
	int i = 0;

	while (i < s->nconns) {
		if (s->conns[i]->state != ST_DONE) {
			i++;
			continue;
		}
		conn_free(s->conns[i]);
		s->conns[i] = s->conns[--s->nconns];
		tot.closed++;
	}
	tot.active = (uint64_t)s->nconns;
}

static void
server_stats(struct server *s, uint64_t now)
{
	uint64_t planned = 0, applied = 0;
	int k;

	if (opts.stats_interval_s <= 0 || now < s->next_stats_us)
		return;
	s->next_stats_us = now + (uint64_t)(opts.stats_interval_s * 1e6);

	for (k = 1; k < FK_COUNT; k++) {
		planned += tot.planned[k];
		applied += tot.applied[k];
	}
	th_warn("t=%.1fs active=%" PRIu64 " accepted=%" PRIu64 " closed=%"
		PRIu64 " faulted=%" PRIu64 " applied=%" PRIu64 " upfail=%"
		PRIu64 " c2s=%" PRIu64 " s2c=%" PRIu64, t_rel(now), tot.active,
		tot.accepted, tot.closed, planned, applied,
		tot.upstream_failed, tot.bytes[0], tot.bytes[1]);
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

static int
server_should_exit(struct server *s, uint64_t now)
{
	if (got_signal)
		s->exit_reason = "signal";
	else if (now >= s->end_us)
		s->exit_reason = "duration";
	else if (opts.exit_after_conns &&
		 tot.closed >= (uint64_t)opts.exit_after_conns)
		s->exit_reason = "exit-after-conns";

	return s->exit_reason != NULL;
}

static void
server_loop(struct server *s, const sigset_t *waitmask)
{
	struct timespec ts;
	uint64_t now, wake;
	int npfd, i, side, idx, rc;

	for (;;) {
		now = th_now_us();
		if (server_should_exit(s, now))
			return;

		wake = now + MAX_WAIT_US;
		wake_at(&wake, s->end_us);
		if (opts.stats_interval_s > 0)
			wake_at(&wake, s->next_stats_us);
		npfd = server_build_pollfds(s, now, &wake);

		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000000);
		ts.tv_nsec = (long)(wake % 1000000) * 1000;
		/* signals are only delivered inside ppoll: no lost wakeups */
		rc = ppoll(s->pfds, (nfds_t)npfd, &ts, waitmask);
		if (rc < 0 && errno != EINTR) {
			th_warn("ppoll: %s", strerror(errno));
			s->exit_reason = "error";
			return;
		}
		if (rc < 0)
			continue;

		now = th_now_us();
		if (npfd && s->pfds[0].fd == s->lfd && s->pfds[0].revents)
			server_accept(s, now);

		for (i = 0; i < s->nconns; i++)
			for (side = 0; side < 2; side++) {
				idx = s->conns[i]->pidx[side];
				if (idx >= 0)
					s->conns[i]->revents[side] =
							s->pfds[idx].revents;
			}

		for (i = 0; i < s->nconns; i++)
			conn_service(s->conns[i], now);

		server_reap(s);
		server_stats(s, now);
	}
}

static void
server_close_all(struct server *s, uint64_t now)
{
	int i;

	for (i = 0; i < s->nconns; i++)
		if (s->conns[i]->state != ST_DONE)
			conn_end(s->conns[i], 0, SIDE_PROXY, "proxy-exit", 0,
				 now);
	server_reap(s);
}

/* ---- summary --------------------------------------------------------------------- */

static void
json_range(th_json_t *j, const char *key, const struct range *r)
{
	if (!r->set)
		return;
	th_json_arr_open(j, key);
	th_json_int(j, NULL, r->lo);
	th_json_int(j, NULL, r->hi);
	th_json_arr_close(j);
}

static void
summary_options(th_json_t *j)
{
	char buf[300];
	int n;

	th_json_obj_open(j, "options");
	th_json_str(j, "listen", fmt_hostport(buf, sizeof(buf),
				opts.listen_host, opts.listen_port));
	th_json_str(j, "upstream", fmt_hostport(buf, sizeof(buf),
				opts.up_host, opts.up_port));
	th_json_double(j, "fraction", opts.fraction);
	th_json_arr_open(j, "faults");
	for (n = 0; n < opts.nkinds; n++)
		th_json_str(j, NULL, fault_names[opts.kinds[n]]);
	th_json_arr_close(j);
	th_json_arr_open(j, "fault_conn");
	for (n = 0; n < opts.n_fault_conn; n++)
		th_json_uint(j, NULL, opts.fault_conn[n]);
	th_json_arr_close(j);
	th_json_str(j, "dir", dir_name(opts.dirmask));
	json_range(j, "offset", &opts.offset);
	json_range(j, "record", &opts.record);
	th_json_int(j, "record_byte", opts.record_byte);
	json_range(j, "after_bytes", &opts.after_bytes);
	json_range(j, "after_records", &opts.after_records);
	json_range(j, "after_ms", &opts.after_ms);
	json_range(j, "stall_ms", &opts.stall_ms);
	json_range(j, "blackhole_ms", &opts.blackhole_ms);
	json_range(j, "delay_ms", &opts.delay_ms);
	json_range(j, "segment", &opts.segment);
	th_json_int(j, "segment_gap_us", opts.segment_gap_us);
	th_json_bool(j, "split_all", opts.split_all);
	th_json_str(j, "split_dir", dir_name(opts.split_dirmask));
	th_json_str(j, "drop_mode", opts.drop_mode == CM_RST ? "rst" : "fin");
	th_json_int(j, "buf_size", opts.buf_size);
	th_json_int(j, "max_conns", opts.max_conns);
	th_json_int(j, "max_fds", opts.max_fds);
	th_json_double(j, "duration_s", opts.duration_s);
	th_json_int(j, "exit_after_conns", opts.exit_after_conns);
	th_json_obj_close(j);
}

static void
write_summary(const struct server *s, uint64_t now)
{
	th_json_t j;
	FILE *f;
	int k;

	if (!opts.json_path)
		return;
	f = th_open_output(opts.json_path);

	th_json_init(&j, f);
	th_json_obj_open(&j, NULL);
	th_json_str(&j, "tool", "lws-faultproxy");
	th_json_uint(&j, "seed", opts.seed);
	summary_options(&j);
	th_json_str(&j, "exit_reason", s->exit_reason);
	th_json_double(&j, "run_s", t_rel(now));
	th_json_obj_open(&j, "connections");
	th_json_uint(&j, "total", tot.accepted);
	th_json_uint(&j, "closed", tot.closed);
	th_json_uint(&j, "max_concurrent", tot.max_active);
	th_json_uint(&j, "upstream_failed", tot.upstream_failed);
	th_json_uint(&j, "split_all", tot.split_conns);
	th_json_obj_close(&j);
	th_json_obj_open(&j, "faults");
	for (k = 1; k < FK_COUNT; k++) {
		th_json_obj_open(&j, fault_names[k]);
		th_json_uint(&j, "planned", tot.planned[k]);
		th_json_uint(&j, "applied", tot.applied[k]);
		th_json_obj_close(&j);
	}
	th_json_obj_close(&j);
	th_json_obj_open(&j, "close_reasons");
	for (k = 0; k < tot.nreasons; k++)
		th_json_uint(&j, tot.reasons[k].reason, tot.reasons[k].n);
	th_json_obj_close(&j);
	th_json_obj_open(&j, "bytes");
	th_json_uint(&j, "c2s", tot.bytes[DIR_C2S]);
	th_json_uint(&j, "s2c", tot.bytes[DIR_S2C]);
	th_json_obj_close(&j);
	th_json_obj_close(&j);

	if (f != stdout && fclose(f))
		th_warn("writing %s: %s", opts.json_path, strerror(errno));
}

/* ---- options ---------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: lws-faultproxy --listen [HOST:]PORT --upstream [HOST:]PORT [OPTIONS]\n"
"\n"
"A single-threaded TCP proxy for loopback / network-namespace tests.  Each\n"
"accepted client is connected to the upstream and forwarded both ways; a\n"
"seeded per-connection plan decides whether and how it is broken.  Every\n"
"connection is reported (--events), so a client can tell the faults it was\n"
"meant to see from real failures by looking up its own local port.\n"
"Addresses are numeric (or \"localhost\"): the proxy never resolves names.\n"
"\n"
"Connections and run time:\n"
"  -l, --listen [HOST:]PORT   listen here (HOST defaults to 127.0.0.1; PORT 0\n"
"                             picks a free port, printed on stderr and in the\n"
"                             \"start\" event)\n"
"  -u, --upstream [HOST:]PORT connect every client to this address\n"
"      --max-conns N          connections at once, more wait in the listen\n"
"                             backlog (1..100000, default 1024)\n"
"      --max-fds N            descriptor budget: raises RLIMIT_NOFILE to N if\n"
"                             allowed and caps --max-conns to (N-32)/2\n"
"                             (64..1048576, default 4096)\n"
"      --duration SECONDS     exit on its own after this long (default 600)\n"
"      --exit-after-conns N   exit once N connections have closed (default off)\n"
"      --connect-timeout-ms N upstream connect timeout (default 5000)\n"
"      --buf-size BYTES       buffer per direction and connection; a full\n"
"                             buffer stops reading that side (default 32768)\n"
"\n"
"Fault plan (RANGE is \"N\" or \"A-B\", drawn per connection from the seed):\n"
"  -s, --seed N               plan seed (default: time based, reported); the\n"
"                             same seed and connection order give the same plan\n"
"  -f, --fraction F           fraction of connections to fault, 0..1 (default 0)\n"
"      --faults LIST          comma-separated kinds, one picked uniformly per\n"
"                             faulted connection (default: every kind but split)\n"
"      --fault-conn N[,N..]   also fault the Nth accepted connection (0-based);\n"
"                             repeatable\n"
"      --dir c2s|s2c|both     direction(s) a fault watches or acts on (default\n"
"                             both; c2s = client to server)\n"
"\n"
"Triggers of truncate, rst, blackhole and stall (the first reached fires):\n"
"      --after-bytes RANGE    after RANGE bytes in a --dir direction\n"
"      --after-records RANGE  after RANGE complete TLS records in a --dir direction\n"
"      --after-ms RANGE       RANGE ms after accept\n"
"                             (none given: --after-bytes 0-16384; 0 = at accept)\n"
"\n"
"Fault kinds:\n"
"  corrupt           XOR 0xff one byte of each --dir stream: at stream byte\n"
"                    --offset RANGE (0-based), or in the body of TLS record\n"
"                    --record RANGE (1-based, default 3: the client Finished\n"
"                    in TLS 1.3, so the peer fails with bad_record_mac) at body\n"
"                    byte --record-byte N|last (default last)\n"
"  truncate          at the trigger, forward nothing more and close both sides\n"
"                    with FIN (shutdown, then read and discard up to 2 s)\n"
"  rst               at the trigger, close both sockets with SO_LINGER {1,0}:\n"
"                    both peers get a RST\n"
"  blackhole         at the trigger, stop reading and forwarding both ways;\n"
"                    sockets stay open for --blackhole-ms RANGE (default 0 =\n"
"                    until the proxy exits), then close()\n"
"  stall             at the trigger, pause the --dir direction(s) for\n"
"                    --stall-ms RANGE (default 2000), then resume\n"
"  split             write in tiny segments of --segment RANGE bytes (default\n"
"                    1-7) with TCP_NODELAY, --segment-gap-us N apart (default\n"
"                    0); not a failure: the peer must stay healthy.\n"
"                    --split-all splits every connection in --split-dir\n"
"                    c2s|s2c|both (default both), on top of any fault\n"
"  delay             hold every chunk for --delay-ms RANGE (default 100)\n"
"  drop-after-hello  forward the first c2s TLS record (the ClientHello), then\n"
"                    close both sides; --drop-mode fin|rst (default fin)\n"
"Bytes past a closing trigger are read and dropped, never forwarded.\n"
"\n"
"Reporting:\n"
"      --events FILE          one JSON object per line, flushed at once: start,\n"
"                             accepted (conn, client, cport = client source\n"
"                             port, uport = proxy port towards the upstream,\n"
"                             the plan), fault_applied, split_started,\n"
"                             stall_end, upstream_failed, closed (bytes and\n"
"                             records each way, reason, first_close), exit\n"
"      --json FILE            summary at exit (\"-\" = stdout): options, seed,\n"
"                             planned/applied per kind, connections, bytes\n"
"      --stats-interval SECS  one line of counters on stderr this often (0 = off)\n"
"  -h, --help                 this text\n"
"\n"
"SIGINT / SIGTERM: close every connection, write the summary, exit 0.\n"
"Exit status 2: bad option or setup failure.\n"
"\n"
"Examples:\n"
"  # 10%% of connections reset after 0-16 KiB, every connection split\n"
"  lws-faultproxy -l 7681 -u 7682 --seed 1 --fraction 0.1 --faults rst \\\n"
"      --split-all --events ev.jsonl --json summary.json\n"
"  # only the second connection: bad_record_mac in the client Finished\n"
"  lws-faultproxy -l 7681 -u 7682 --fault-conn 1 --faults corrupt \\\n"
"      --record 3 --dir c2s\n"
"  # dead link after the handshake for 5 s, then close\n"
"  lws-faultproxy -l 7681 -u 7682 --fraction 0.05 --faults blackhole \\\n"
"      --after-records 8-12 --dir s2c --blackhole-ms 5000\n");
}

enum {
	OPT_MAX_CONNS = 256, OPT_MAX_FDS, OPT_DURATION, OPT_EXIT_AFTER,
	OPT_CONNECT_TIMEOUT, OPT_BUF_SIZE, OPT_FAULTS, OPT_FAULT_CONN, OPT_DIR,
	OPT_AFTER_BYTES, OPT_AFTER_RECORDS, OPT_AFTER_MS, OPT_OFFSET,
	OPT_RECORD, OPT_RECORD_BYTE, OPT_BLACKHOLE_MS, OPT_STALL_MS,
	OPT_SEGMENT, OPT_SEGMENT_GAP, OPT_SPLIT_ALL, OPT_SPLIT_DIR,
	OPT_DELAY_MS, OPT_DROP_MODE, OPT_EVENTS, OPT_JSON, OPT_STATS,
};

static const struct option long_opts[] = {
	{ "listen",		required_argument, NULL, 'l' },
	{ "upstream",		required_argument, NULL, 'u' },
	{ "seed",		required_argument, NULL, 's' },
	{ "fraction",		required_argument, NULL, 'f' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "max-conns",		required_argument, NULL, OPT_MAX_CONNS },
	{ "max-fds",		required_argument, NULL, OPT_MAX_FDS },
	{ "duration",		required_argument, NULL, OPT_DURATION },
	{ "exit-after-conns",	required_argument, NULL, OPT_EXIT_AFTER },
	{ "connect-timeout-ms",	required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "buf-size",		required_argument, NULL, OPT_BUF_SIZE },
	{ "faults",		required_argument, NULL, OPT_FAULTS },
	{ "fault-conn",		required_argument, NULL, OPT_FAULT_CONN },
	{ "dir",		required_argument, NULL, OPT_DIR },
	{ "after-bytes",	required_argument, NULL, OPT_AFTER_BYTES },
	{ "after-records",	required_argument, NULL, OPT_AFTER_RECORDS },
	{ "after-ms",		required_argument, NULL, OPT_AFTER_MS },
	{ "offset",		required_argument, NULL, OPT_OFFSET },
	{ "record",		required_argument, NULL, OPT_RECORD },
	{ "record-byte",	required_argument, NULL, OPT_RECORD_BYTE },
	{ "blackhole-ms",	required_argument, NULL, OPT_BLACKHOLE_MS },
	{ "stall-ms",		required_argument, NULL, OPT_STALL_MS },
	{ "segment",		required_argument, NULL, OPT_SEGMENT },
	{ "segment-gap-us",	required_argument, NULL, OPT_SEGMENT_GAP },
	{ "split-all",		no_argument,	   NULL, OPT_SPLIT_ALL },
	{ "split-dir",		required_argument, NULL, OPT_SPLIT_DIR },
	{ "delay-ms",		required_argument, NULL, OPT_DELAY_MS },
	{ "drop-mode",		required_argument, NULL, OPT_DROP_MODE },
	{ "events",		required_argument, NULL, OPT_EVENTS },
	{ "json",		required_argument, NULL, OPT_JSON },
	{ "stats-interval",	required_argument, NULL, OPT_STATS },
	{ NULL, 0, NULL, 0 }
};

static void
parse_range(const char *opt, const char *s, long long min, long long max,
	    struct range *r)
{
	char lo[32];
	const char *dash = strchr(s, '-');
	size_t len;

	if (!dash || dash == s) {
		r->lo = r->hi = th_parse_ll(opt, s, min, max);
	} else {
		len = (size_t)(dash - s);
		if (len >= sizeof(lo))
			th_die("%s: '%s' is not N or A-B", opt, s);
		memcpy(lo, s, len);
		lo[len] = '\0';
		r->lo = th_parse_ll(opt, lo, min, max);
		r->hi = th_parse_ll(opt, dash + 1, min, max);
		if (r->hi < r->lo)
			th_die("%s: '%s': range upper end below lower end",
			       opt, s);
	}
	r->set = 1;
}

static int
parse_dir(const char *opt, const char *s)
{
	if (!strcmp(s, "c2s"))
		return DIRM(DIR_C2S);
	if (!strcmp(s, "s2c"))
		return DIRM(DIR_S2C);
	if (!strcmp(s, "both"))
		return DIRM_BOTH;

	th_die("%s: '%s': expected c2s, s2c or both", opt, s);
}

static void
parse_faults(const char *s)
{
	char buf[256], *tok, *save = NULL;
	int k, n, seen[FK_COUNT] = { 0 };

	if (strlen(s) >= sizeof(buf))
		th_die("--faults: list too long");
	strcpy(buf, s);

	opts.nkinds = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 1; k < FK_COUNT; k++)
			if (!strcmp(tok, fault_names[k]))
				break;
		if (k == FK_COUNT) {
			fprintf(stderr, "known kinds:");
			for (n = 1; n < FK_COUNT; n++)
				fprintf(stderr, " %s", fault_names[n]);
			fputc('\n', stderr);
			th_die("--faults: unknown fault kind '%s'", tok);
		}
		if (!seen[k]++)
			opts.kinds[opts.nkinds++] = k;
	}
	if (!opts.nkinds)
		th_die("--faults: empty list");
}

static void
parse_fault_conn(const char *s)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		th_die("--fault-conn: list too long");
	strcpy(buf, s);

	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opts.n_fault_conn == MAX_FAULT_CONN)
			th_die("--fault-conn: at most %d connections",
			       MAX_FAULT_CONN);
		opts.fault_conn[opts.n_fault_conn++] =
			(uint64_t)th_parse_ll("--fault-conn", tok, 0, LLONG_MAX);
	}
	if (!opts.n_fault_conn)
		th_die("--fault-conn: empty list");
}

static void
options_defaults(void)
{
	int k;

	opts.fraction = 0;
	opts.dirmask = opts.split_dirmask = DIRM_BOTH;
	opts.record_byte = -1;
	opts.drop_mode = CM_FIN;
	opts.connect_timeout_ms = 5000;
	opts.buf_size = 32768;
	opts.max_conns = 1024;
	opts.max_fds = 4096;
	opts.duration_s = 600;

	for (k = 1; k < FK_COUNT; k++)
		if (k != FK_SPLIT)
			opts.kinds[opts.nkinds++] = k;

	opts.record = (struct range){ 3, 3, 1 };
	opts.stall_ms = (struct range){ 2000, 2000, 1 };
	opts.blackhole_ms = (struct range){ 0, 0, 1 };
	opts.delay_ms = (struct range){ 100, 100, 1 };
	opts.segment = (struct range){ 1, 7, 1 };
}

static void
options_parse_one(int o, const char *arg, int *have_listen, int *have_up)
{
	const long long big = 1000000000000ll;

	switch (o) {
	case 'l':
		th_parse_hostport_ex("--listen", arg, opts.listen_host,
				     sizeof(opts.listen_host),
				     &opts.listen_port, 1);
		*have_listen = 1;
		break;
	case 'u':
		th_parse_hostport("--upstream", arg, opts.up_host,
				  sizeof(opts.up_host), &opts.up_port);
		*have_up = 1;
		break;
	case 's':
		opts.seed = (uint64_t)th_parse_ll("--seed", arg, 0, LLONG_MAX);
		opts.seed_set = 1;
		break;
	case 'f':
		opts.fraction = th_parse_double("--fraction", arg, 0, 1);
		break;
	case OPT_MAX_CONNS:
		opts.max_conns = th_parse_ll("--max-conns", arg, 1, 100000);
		break;
	case OPT_MAX_FDS:
		opts.max_fds = th_parse_ll("--max-fds", arg, 64, 1048576);
		break;
	case OPT_DURATION:
		opts.duration_s = th_parse_double("--duration", arg, 0.1,
						  7 * 86400);
		break;
	case OPT_EXIT_AFTER:
		opts.exit_after_conns = th_parse_ll("--exit-after-conns", arg,
						    1, LLONG_MAX);
		break;
	case OPT_CONNECT_TIMEOUT:
		opts.connect_timeout_ms = th_parse_ll("--connect-timeout-ms",
						      arg, 1, 3600000);
		break;
	case OPT_BUF_SIZE:
		opts.buf_size = th_parse_ll("--buf-size", arg, 1024, 16 << 20);
		break;
	case OPT_FAULTS:
		parse_faults(arg);
		break;
	case OPT_FAULT_CONN:
		parse_fault_conn(arg);
		break;
	case OPT_DIR:
		opts.dirmask = parse_dir("--dir", arg);
		break;
	case OPT_SPLIT_DIR:
		opts.split_dirmask = parse_dir("--split-dir", arg);
		break;
	case OPT_AFTER_BYTES:
		parse_range("--after-bytes", arg, 0, big, &opts.after_bytes);
		break;
	case OPT_AFTER_RECORDS:
		parse_range("--after-records", arg, 0, big,
			    &opts.after_records);
		break;
	case OPT_AFTER_MS:
		parse_range("--after-ms", arg, 0, big, &opts.after_ms);
		break;
	case OPT_OFFSET:
		parse_range("--offset", arg, 0, big, &opts.offset);
		break;
	case OPT_RECORD:
		parse_range("--record", arg, 1, big, &opts.record);
		opts.record_given = 1;
		break;
	case OPT_RECORD_BYTE:
		opts.record_byte = !strcmp(arg, "last") ? -1 :
			th_parse_ll("--record-byte", arg, 0,
				    TLS_MAX_RECORD_BODY - 1);
		break;
	case OPT_BLACKHOLE_MS:
		parse_range("--blackhole-ms", arg, 0, big, &opts.blackhole_ms);
		break;
	case OPT_STALL_MS:
		parse_range("--stall-ms", arg, 0, big, &opts.stall_ms);
		break;
	case OPT_SEGMENT:
		parse_range("--segment", arg, 1, 65536, &opts.segment);
		break;
	case OPT_SEGMENT_GAP:
		opts.segment_gap_us = th_parse_ll("--segment-gap-us", arg, 0,
						  10000000);
		break;
	case OPT_SPLIT_ALL:
		opts.split_all = 1;
		break;
	case OPT_DELAY_MS:
		parse_range("--delay-ms", arg, 0, 600000, &opts.delay_ms);
		break;
	case OPT_DROP_MODE:
		if (!strcmp(arg, "fin"))
			opts.drop_mode = CM_FIN;
		else if (!strcmp(arg, "rst"))
			opts.drop_mode = CM_RST;
		else
			th_die("--drop-mode: '%s': expected fin or rst", arg);
		break;
	case OPT_EVENTS:
		opts.events_path = arg;
		break;
	case OPT_JSON:
		opts.json_path = arg;
		break;
	case OPT_STATS:
		opts.stats_interval_s = th_parse_double("--stats-interval",
							arg, 0, 86400);
		break;
	}
}

static void
options_check(int have_listen, int have_up)
{
	if (!have_listen)
		th_die("--listen is required (try --help)");
	if (!have_up)
		th_die("--upstream is required (try --help)");
	if (opts.offset.set && opts.record_given)
		th_die("--offset and --record are exclusive: pick one target");

	if (!opts.after_bytes.set && !opts.after_records.set &&
	    !opts.after_ms.set)
		opts.after_bytes = (struct range){ 0, 16384, 1 };

	if (!opts.seed_set)
		opts.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	if (opts.fraction <= 0 && !opts.n_fault_conn && !opts.split_all)
		th_warn("no --fraction, --fault-conn or --split-all: "
			"plain pass-through");
}

static void
options_parse(int argc, char **argv)
{
	int o, have_listen = 0, have_up = 0;

	options_defaults();

	while ((o = getopt_long(argc, argv, "l:u:s:f:h", long_opts,
				NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			exit(0);
		}
		if (o == '?')
			th_die("bad option (try --help)");
		options_parse_one(o, optarg, &have_listen, &have_up);
	}
	if (optind < argc)
		th_die("unexpected argument '%s' (try --help)", argv[optind]);

	options_check(have_listen, have_up);
}

/* ---- main ------------------------------------------------------------------------- */

static int
apply_fd_budget(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opts.max_fds;
	long long by_fds;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			th_warn("setrlimit(NOFILE): %s", strerror(errno));
		if (rl.rlim_cur < want)
			th_warn("--max-fds %lld above the hard limit: using %llu",
				opts.max_fds, (unsigned long long)rl.rlim_cur);
		opts.max_fds = (long long)rl.rlim_cur;
	}

	by_fds = (opts.max_fds - 32) / 2;
	if (by_fds < 1)
		th_die("--max-fds %lld leaves no room for connections",
		       opts.max_fds);

	return (int)(opts.max_conns < by_fds ? opts.max_conns : by_fds);
}

static void
setup_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

static void
report_start(void)
{
	char lbuf[300], ubuf[300];

	fmt_hostport(lbuf, sizeof(lbuf), opts.listen_host, opts.listen_port);
	fmt_hostport(ubuf, sizeof(ubuf), opts.up_host, opts.up_port);
	th_warn("listening on %s, upstream %s, seed %" PRIu64, lbuf, ubuf,
		opts.seed);

	if (!ev_begin("start", NULL, t_start_us))
		return;
	th_json_str(&evj, "listen", lbuf);
	th_json_int(&evj, "port", opts.listen_port);
	th_json_str(&evj, "upstream", ubuf);
	th_json_uint(&evj, "seed", opts.seed);
	th_json_int(&evj, "pid", getpid());
	th_json_int(&evj, "unix_time", (long long)time(NULL));
	ev_end();
}

int
main(int argc, char **argv)
{
	struct server s;
	sigset_t waitmask;
	uint64_t now;

	th_set_progname(argv[0]);
	options_parse(argc, argv);
	resolve("--upstream", opts.up_host, opts.up_port, &up_addr,
		&up_addrlen);

	memset(&s, 0, sizeof(s));
	s.max_conns = apply_fd_budget();
	s.conns = calloc((size_t)s.max_conns, sizeof(*s.conns));
	s.pfds = calloc((size_t)s.max_conns * 2 + 1, sizeof(*s.pfds));
	if (!s.conns || !s.pfds)
		th_die("out of memory");

	if (opts.events_path) {
		events_f = th_open_output(opts.events_path);
		th_json_init(&evj, events_f);
	}

	setup_signals(&waitmask);
	s.lfd = listen_socket();
	t_start_us = th_now_us();
	s.end_us = t_start_us + (uint64_t)(opts.duration_s * 1e6);
	s.next_stats_us = t_start_us + (uint64_t)(opts.stats_interval_s * 1e6);
	report_start();

	server_loop(&s, &waitmask);

	now = th_now_us();
	server_close_all(&s, now);
	if (ev_begin("exit", NULL, now)) {
		th_json_str(&evj, "reason", s.exit_reason);
		th_json_uint(&evj, "connections", tot.accepted);
		ev_end();
	}
	write_summary(&s, now);
	s.next_stats_us = 0;
	server_stats(&s, now);

	close(s.lfd);
	free(s.conns);
	free(s.pfds);
	if (events_f && events_f != stdout)
		fclose(events_f);

	return !strcmp(s.exit_reason, "error");
}
