/*
 * lws-hardened test apps: lws / TLS helpers shared by the stress tools
 *
 * Logging setup, TLS vhost setup from --cert/--key/--ca, OpenSSL error-queue
 * planting and inspection, the stress message header, per-connection TLS
 * facts (local port, session reuse) and the JSON summary preamble.
 *
 * Backend: the build defines exactly one of TH_TLS_BACKEND_openssl,
 * TH_TLS_BACKEND_mbedtls, TH_TLS_BACKEND_wolfssl.  Everything that needs the
 * OpenSSL API (error queue, SSL_*) exists only when TH_HAVE_OSSL_API is set;
 * the apps must refuse options that need it on other backends, never skip
 * them silently.
 */
#ifndef TH_LWS_H
#define TH_LWS_H

#include <libwebsockets.h>
#include "th-util.h"

#if defined(TH_TLS_BACKEND_openssl) || defined(TH_TLS_BACKEND_wolfssl)
#define TH_HAVE_OSSL_API 1
#endif

#if !defined(TH_TLS_BACKEND_openssl) && !defined(TH_TLS_BACKEND_mbedtls) && \
    !defined(TH_TLS_BACKEND_wolfssl)
#error "build with -DTH_TLS_BACKEND_<openssl|mbedtls|wolfssl>"
#endif

#if defined(TH_TLS_BACKEND_mbedtls) && !defined(LWS_WITH_MBEDTLS)
#error "TH_TLS_BACKEND=mbedtls but this libwebsockets was not built with mbedTLS"
#endif
#if !defined(TH_TLS_BACKEND_mbedtls) && defined(LWS_WITH_MBEDTLS)
#error "this libwebsockets uses mbedTLS: configure with -DTH_TLS_BACKEND=mbedtls"
#endif

/* "openssl", "mbedtls" or "wolfssl" */
const char *th_lws_backend_name(void);

/* die with "<opt> not supported with <backend> backend" unless the backend
 * offers the OpenSSL API (error queue, SSL_key_update, ...) */
void th_lws_require_ossl(const char *opt);

/* ---- logging -------------------------------------------------------------
 * --debug LEVEL: a number (lws LLL_* bitmask) or a comma list of
 * err,warn,notice,info,debug,parser,header,ext,client,latency,user,thread.
 */
#define TH_LWS_LOG_DEFAULT (LLL_ERR | LLL_WARN)
int th_lws_parse_debug(const char *opt, const char *s);
void th_lws_log_init(int level);

/* ---- process ------------------------------------------------------------- */

/* SIGINT / SIGTERM set a flag (and wake the context's service loop) */
void th_lws_signals_install(void);
void th_lws_signals_set_context(struct lws_context *cx);
int th_lws_interrupted(void);
/* raise RLIMIT_NOFILE soft limit towards want (or the hard limit); returns it */
long th_lws_raise_nofile(long want);
/* die unless path names a readable file */
void th_lws_check_readable(const char *opt, const char *path);
/* read a whole file, NUL-terminated; NULL if it cannot be read */
char *th_lws_read_file(const char *path, size_t *len);
/* atomically write "<port>\n" to path (tmp + rename); 0 on success */
int th_lws_write_ready_file(const char *path, int port);

/* ---- TLS vhost setup ----------------------------------------------------- */

void th_lws_tls_server_info(struct lws_context_creation_info *info,
			    const char *cert, const char *key, const char *ca,
			    int require_client_cert);
void th_lws_tls_client_info(struct lws_context_creation_info *info,
			    const char *ca, const char *cert, const char *key);

/* ---- per-connection facts ------------------------------------------------ */

/* local TCP port of the wsi's socket (getsockname), -1 if unknown */
int th_lws_local_port(struct lws *wsi);
/*
 * 1 resumed, 0 full handshake, -1 unknown (no TLS / no API).  OpenSSL API:
 * SSL_session_reused().  mbedTLS: lws_tls_session_is_reused(), which is
 * lws's own client-side belief (see S3), and unknown for server wsis.
 */
int th_lws_session_reused(struct lws *wsi, int is_client);
/* negotiated protocol, e.g. "TLSv1.3", or "?" */
const char *th_lws_tls_version(struct lws *wsi);

/* callback reason name for logs / JSON ("RECEIVE", ...), or "REASON_<n>" */
const char *th_lws_reason_name(int reason, char *buf, size_t len);

/* ---- OpenSSL error queue --------------------------------------------------
 * Plants are ERR_LIB_USER errors with reason TH_PLANT_REASON_BASE + tag, so
 * an inspector can tell them apart from entries lws / OpenSSL left.
 */
#define TH_PLANT_REASON_BASE	0x4c50	/* "LP" */
#define TH_PLANT_TAG_MAX	64

typedef struct th_errq_entry {
	unsigned long	code;
	int		lib;
	int		reason;
	int		line;
	int		planted;	/* one of ours */
	int		plant_tag;	/* if planted */
	char		file[64];
	char		func[64];
	char		text[160];	/* reason string / data */
} th_errq_entry_t;

/* push one planted error (tag 0..TH_PLANT_TAG_MAX-1); -1 if no OpenSSL API.
 * The entry's origin (file:line, which lws-hardened logs once per origin)
 * is the caller's, so each plant site is told apart. */
int th_errq_plant_at(int tag, const char *file, int line);
#define th_errq_plant(tag) th_errq_plant_at(tag, __FILE__, __LINE__)
/* nonzero if the thread's queue holds anything */
int th_errq_pending(void);
/*
 * Pop every entry (bounded), calling cb for each (cb may be NULL).  Returns
 * the number popped.  If preserve, the entries are pushed back afterwards in
 * the same order (lib, reason, file, line, func kept; data text kept), so the
 * queue is observed without changing what lws will see next.
 */
typedef void (*th_errq_cb_t)(const th_errq_entry_t *e, void *opaque);
int th_errq_drain(th_errq_cb_t cb, void *opaque, int preserve);
/* "file:line:func:reason" into buf */
const char *th_errq_describe(const th_errq_entry_t *e, char *buf, size_t len);

/* distinct (site, entry) table for reports */
#define TH_ERRQ_TAB_MAX 48
typedef struct th_errq_sig {
	char		site[40];
	char		desc[232];
	int		planted;
	unsigned long	count;
} th_errq_sig_t;

typedef struct th_errq_tab {
	th_errq_sig_t	e[TH_ERRQ_TAB_MAX];
	int		n;
	unsigned long	overflow;
} th_errq_tab_t;

void th_errq_tab_add(th_errq_tab_t *t, const char *site,
		     const th_errq_entry_t *e);
void th_errq_tab_json(th_json_t *j, const char *key, const th_errq_tab_t *t);

/* ---- queue checker (--check-queue of the stress tools) ---------------------
 * Looks at the thread's queue at the start of every user callback and after
 * every return from an lws API call (lws_service(), lws_tls_cert_updated(),
 * lws_client_connect_via_info(), ...).  Entries are told apart: planted (ours)
 * vs left by lws / OpenSSL, with "file:line:func:reason" of each distinct
 * entry and the place it was seen.
 *
 * The rule: inside callbacks lws issues from within an OpenSSL call (SSL_INFO,
 * client / server certificate verification) the entries may belong to the
 * SSL call in flight, so the checker only notes that something was pending
 * and never clears.  Everywhere else it logs (first 200), counts and clears,
 * so each entry is counted once, at the first place the application sees it.
 *
 * JSON ("error_queue" object): checked, lws_left_total, planted_seen_total,
 * lws_left_at_callback {REASON: n, <site>: n...}, planted_seen_at_callback
 * {...}, pending_inside_ssl_callbacks {REASON: n}, distinct_entries [{site,
 * entry, planted, count}].  Sites named at init are always listed, in order.
 */
#define TH_ERRQ_CHECK_REASONS	256	/* callback reasons counted one by one */
#define TH_ERRQ_CHECK_SITES	8	/* "after <api call>" sites */

typedef struct th_errq_site {
	const char	*name;		/* e.g. "after lws_service" (static) */
	unsigned long	lws_left, planted;
} th_errq_site_t;

typedef struct th_errq_check {
	int		enabled;	/* --check-queue given */
	unsigned long	lws_left[TH_ERRQ_CHECK_REASONS];
	unsigned long	planted[TH_ERRQ_CHECK_REASONS];
	unsigned long	in_ssl_pending[TH_ERRQ_CHECK_REASONS];
	th_errq_site_t	site[TH_ERRQ_CHECK_SITES];
	int		n_sites;
	unsigned long	logged;
	th_errq_tab_t	tab;
} th_errq_check_t;

/* what one look found */
typedef struct th_errq_look {
	int		entries, lws_n, planted_n;
	char		first[200];	/* first entry lws left, "" if none */
} th_errq_look_t;

/* zero q; sites (NULL-terminated, static strings) are always reported */
void th_errq_check_init(th_errq_check_t *q, int enabled,
			const char * const *sites);
/* nonzero for callbacks lws issues from inside an OpenSSL call */
int th_errq_reason_in_ssl_call(int reason);
/* at the start of a user callback (no-op unless enabled) */
void th_errq_check_at_callback(th_errq_check_t *q, int reason);
/*
 * After a return from lws, site "after <call>" (static string).  No-op
 * unless enabled; else count, log and clear.  res (may be NULL) gets what
 * was found.
 */
void th_errq_check_after(th_errq_check_t *q, const char *site,
			 th_errq_look_t *res);
/*
 * Like th_errq_check_after() but always counts, even when not enabled; the
 * entries are cleared if enabled, else put back so lws sees what it would
 * have seen.  Returns the number of entries found.
 */
int th_errq_check_measure(th_errq_check_t *q, const char *site,
			  th_errq_look_t *res);
/* entries lws left, over callbacks and sites */
unsigned long th_errq_check_lws_total(const th_errq_check_t *q);
unsigned long th_errq_check_site_lws(const th_errq_check_t *q,
				     const char *site);
/* the "error_queue" object */
void th_errq_check_json(th_json_t *j, const char *key,
			const th_errq_check_t *q);

/* ---- why connections end (lws-hardened close-cause API) -------------------
 * Built against lws-hardened headers (LWS_HARDENED_HAS_CLOSE_CAUSE
 * defined), the apps read at every connection end lws_hardened_close_cause()
 * (as its name) and lws_hardened_tls_error() (the first TLS error text),
 * and at the end every
 * counter of the library (lws_hardened_counter_name() until NULL).  Built
 * against vanilla headers there is no such API: th_lws_have_close_cause() is
 * 0, the cause is NULL, and the JSON members written below are null.
 */
#define TH_END_TEXT_MAX		240	/* first TLS error text kept */
#define TH_END_CAUSES_MAX	16	/* distinct cause names tallied */
#define TH_END_ERRORS_MAX	32	/* distinct (cause, text) pairs listed */
#define TH_CTR_MAX		32	/* library counters listed */

typedef struct th_conn_end {
	const char	*cause;		/* e.g. "peer-reset"; NULL: no API */
	int		alert;		/* lws_hardened_tls_alert(), -1: none */
	char		tls_error[TH_END_TEXT_MAX]; /* "" if none recorded */
} th_conn_end_t;

/* 1 if built against lws-hardened headers (the close-cause API exists) */
int th_lws_have_close_cause(void);
/* why wsi ended (call in CLOSED / CLIENT_CONNECTION_ERROR / WSI_DESTROY...);
 * wsi may be NULL (an end lws never reported): cause NULL */
void th_lws_conn_end(struct lws *wsi, th_conn_end_t *e);

/* ends tallied by cause, with a bounded list of distinct first errors */
typedef struct th_end_tab {
	struct {
		const char	*cause;		/* library's static string */
		unsigned long	count;
	} by_cause[TH_END_CAUSES_MAX];
	int		n_causes;
	struct {
		const char	*cause;
		char		text[TH_END_TEXT_MAX];
		unsigned long	count;
	} err[TH_END_ERRORS_MAX];
	int		n_err;
	unsigned long	ends;		/* every end added */
	unsigned long	no_error;	/* ends without a recorded TLS error */
	unsigned long	err_overflow;	/* ends whose (cause, text) was not
					 * listed: the list was full */
} th_end_tab_t;

/* count one end (e->cause NULL: nothing to count, no API) */
void th_end_tab_add(th_end_tab_t *t, const th_conn_end_t *e);
/*
 * by_cause_key: {"peer-reset": n, ...}; errors_key: {"ends", "without_error",
 * "distinct": [{"cause", "text", "count"}], "not_listed"}.  Both null when
 * built without the close-cause API.
 */
void th_end_tab_json(th_json_t *j, const char *by_cause_key,
		     const char *errors_key, const th_end_tab_t *t);

/* every counter of the library, by name; taken once (e.g. before
 * lws_context_destroy()); n = -1 when built without the API */
typedef struct th_ctr_snap {
	const char		*name[TH_CTR_MAX];
	unsigned long long	value[TH_CTR_MAX];
	int			n;
} th_ctr_snap_t;

void th_lws_counters_snap(th_ctr_snap_t *s, struct lws_context *cx);
/* {"errq_stale_discarded": n, ...}, or null without the API */
void th_lws_counters_json(th_json_t *j, const char *key,
			  const th_ctr_snap_t *s);

/* ---- stress message header -----------------------------------------------
 * Every client message starts with this header (big endian on the wire),
 * followed by len payload bytes whose crc32 is crc.
 */
#define TH_MSG_MAGIC		0x4c575353u	/* "LWSS" */
#define TH_MSG_HDR_LEN		28
#define TH_MSG_F_WANT_LARGE	1u	/* ask the server for a large response */
#define TH_MSG_F_LARGE_RESP	2u	/* server's large response */

typedef struct th_msg_hdr {
	uint32_t	magic;
	uint32_t	conn_id;
	uint32_t	attempt;
	uint32_t	seq;
	uint32_t	flags;
	uint32_t	len;
	uint32_t	crc;
} th_msg_hdr_t;

void th_msg_hdr_put(uint8_t *p, const th_msg_hdr_t *h);
/* 0 if p holds a header with the right magic */
int th_msg_hdr_get(const uint8_t *p, size_t len, th_msg_hdr_t *h);

/* ---- JSON ---------------------------------------------------------------- */

/* "tool", "lws_version", "tls_backend", "tls_library", "seed" members */
void th_lws_json_header(th_json_t *j, const char *tool, uint64_t seed);

/*
 * --no-abortive-close: dead links close the way vanilla 4.3.5 closes them
 * (lws_hardened_abortive_close(cx, 0)); exits with an error on a library
 * without that switch.
 */
void th_lws_no_abortive_close(struct lws_context *cx);

#endif
