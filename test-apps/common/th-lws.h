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

/* push one planted error (tag 0..TH_PLANT_TAG_MAX-1); -1 if no OpenSSL API */
int th_errq_plant(int tag);
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

#endif
