/*
 * lws-hardened test apps: lws / TLS helpers shared by the stress tools
 */
#include "th-lws.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#if defined(TH_TLS_BACKEND_openssl)
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/opensslv.h>
#endif

const char *
th_lws_backend_name(void)
{
#if defined(TH_TLS_BACKEND_openssl)
	return "openssl";
#elif defined(TH_TLS_BACKEND_wolfssl)
	return "wolfssl";
#else
	return "mbedtls";
#endif
}

void
th_lws_require_ossl(const char *opt)
{
#if !defined(TH_HAVE_OSSL_API)
	th_die("%s not supported with %s backend", opt, th_lws_backend_name());
#else
	(void)opt;
#endif
}

/* ---- logging ------------------------------------------------------------ */

static const struct {
	const char	*name;
	int		bit;
} log_names[] = {
	{ "err", LLL_ERR }, { "warn", LLL_WARN }, { "notice", LLL_NOTICE },
	{ "info", LLL_INFO }, { "debug", LLL_DEBUG }, { "parser", LLL_PARSER },
	{ "header", LLL_HEADER }, { "ext", LLL_EXT }, { "client", LLL_CLIENT },
	{ "latency", LLL_LATENCY }, { "user", LLL_USER }, { "thread", LLL_THREAD },
};

int
th_lws_parse_debug(const char *opt, const char *s)
{
	char buf[256], *tok, *save = NULL;
	int level = 0;
	size_t n;

	if (*s >= '0' && *s <= '9')
		return (int)th_parse_ll(opt, s, 0, LLL_COUNT > 0 ?
					(1 << LLL_COUNT) - 1 : 0xffff);

	if (strlen(s) >= sizeof(buf))
		th_die("%s: value too long", opt);
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (n = 0; n < LWS_ARRAY_SIZE(log_names); n++)
			if (!strcmp(tok, log_names[n].name))
				break;
		if (n == LWS_ARRAY_SIZE(log_names))
			th_die("%s: unknown log level '%s' (use a number or "
			       "err,warn,notice,info,debug,parser,header,ext,"
			       "client,latency,user,thread)", opt, tok);
		level |= log_names[n].bit;
	}

	return level;
}

void
th_lws_log_init(int level)
{
	lws_set_log_level(level, NULL);
}

/* ---- process ------------------------------------------------------------ */

static volatile sig_atomic_t th_interrupted;
static struct lws_context *th_sig_cx;

static void
th_sig_handler(int sig)
{
	(void)sig;
	th_interrupted = 1;
	if (th_sig_cx)
		lws_cancel_service(th_sig_cx);
}

void
th_lws_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = th_sig_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void
th_lws_signals_set_context(struct lws_context *cx)
{
	th_sig_cx = cx;
}

int
th_lws_interrupted(void)
{
	return !!th_interrupted;
}

long
th_lws_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if ((rlim_t)want > rl.rlim_max || want <= 0)
		want = (long)rl.rlim_max;
	if (rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}

	return (long)rl.rlim_cur;
}

void
th_lws_check_readable(const char *opt, const char *path)
{
	if (access(path, R_OK))
		th_die("%s: cannot read '%s': %s", opt, path, strerror(errno));
}

char *
th_lws_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || sz > (64l << 20) ||
	    fseek(f, 0, SEEK_SET))
		goto bail;
	buf = malloc((size_t)sz + 1);
	if (!buf)
		goto bail;
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		free(buf);
		buf = NULL;
		goto bail;
	}
	buf[sz] = '\0';
	if (len)
		*len = (size_t)sz;
bail:
	fclose(f);

	return buf;
}

int
th_lws_write_ready_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}

	return 0;
}

/* ---- TLS vhost setup ---------------------------------------------------- */

void
th_lws_tls_server_info(struct lws_context_creation_info *info,
		       const char *cert, const char *key, const char *ca,
		       int require_client_cert)
{
	if (!cert || !key)
		th_die("TLS needs --cert and --key (or use --no-tls)");
	th_lws_check_readable("--cert", cert);
	th_lws_check_readable("--key", key);
	if (ca)
		th_lws_check_readable("--ca", ca);
	if (require_client_cert && !ca)
		th_die("--require-client-cert needs --ca");

	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info->ssl_cert_filepath = cert;
	info->ssl_private_key_filepath = key;
	info->ssl_ca_filepath = ca;
	if (require_client_cert)
		info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
}

void
th_lws_tls_client_info(struct lws_context_creation_info *info,
		       const char *ca, const char *cert, const char *key)
{
	if (!!cert != !!key)
		th_die("--cert and --key go together");
	if (ca)
		th_lws_check_readable("--ca", ca);
	if (cert) {
		th_lws_check_readable("--cert", cert);
		th_lws_check_readable("--key", key);
	}
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info->client_ssl_ca_filepath = ca;
	info->client_ssl_cert_filepath = cert;
	info->client_ssl_private_key_filepath = key;
}

/* ---- per-connection facts ----------------------------------------------- */

int
th_lws_local_port(struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	lws_sockfd_type fd;

	if (!wsi)
		return -1;
	fd = lws_get_socket_fd(wsi);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);

	return -1;
}

int
th_lws_session_reused(struct lws *wsi, int is_client)
{
	if (!wsi || !lws_is_ssl(wsi))
		return -1;
#if defined(TH_HAVE_OSSL_API)
	(void)is_client;
	{
		SSL *ssl = lws_get_ssl(wsi);

		return ssl ? !!SSL_session_reused(ssl) : -1;
	}
#elif defined(LWS_WITH_TLS_SESSIONS)
	return is_client ? !!lws_tls_session_is_reused(wsi) : -1;
#else
	(void)is_client;
	return -1;
#endif
}

const char *
th_lws_tls_version(struct lws *wsi)
{
#if defined(TH_HAVE_OSSL_API)
	SSL *ssl;

	if (!wsi || !lws_is_ssl(wsi) || !(ssl = lws_get_ssl(wsi)))
		return "none";

	return SSL_get_version(ssl);
#else
	return wsi && lws_is_ssl(wsi) ? "?" : "none";
#endif
}

const char *
th_lws_reason_name(int reason, char *buf, size_t len)
{
	const char *s = NULL;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: s = "ESTABLISHED"; break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: s = "CLIENT_CONNECTION_ERROR"; break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED: s = "CLIENT_ESTABLISHED"; break;
	case LWS_CALLBACK_CLOSED: s = "CLOSED"; break;
	case LWS_CALLBACK_CLIENT_CLOSED: s = "CLIENT_CLOSED"; break;
	case LWS_CALLBACK_RECEIVE: s = "RECEIVE"; break;
	case LWS_CALLBACK_CLIENT_RECEIVE: s = "CLIENT_RECEIVE"; break;
	case LWS_CALLBACK_SERVER_WRITEABLE: s = "SERVER_WRITEABLE"; break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: s = "CLIENT_WRITEABLE"; break;
	case LWS_CALLBACK_HTTP: s = "HTTP"; break;
	case LWS_CALLBACK_HTTP_BIND_PROTOCOL: s = "HTTP_BIND_PROTOCOL"; break;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL: s = "HTTP_DROP_PROTOCOL"; break;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: s = "FILTER_NETWORK_CONNECTION"; break;
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION: s = "FILTER_HTTP_CONNECTION"; break;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: s = "FILTER_PROTOCOL_CONNECTION"; break;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: s = "SERVER_NEW_CLIENT_INSTANTIATED"; break;
	case LWS_CALLBACK_WSI_CREATE: s = "WSI_CREATE"; break;
	case LWS_CALLBACK_WSI_DESTROY: s = "WSI_DESTROY"; break;
	case LWS_CALLBACK_PROTOCOL_INIT: s = "PROTOCOL_INIT"; break;
	case LWS_CALLBACK_PROTOCOL_DESTROY: s = "PROTOCOL_DESTROY"; break;
	case LWS_CALLBACK_GET_THREAD_ID: s = "GET_THREAD_ID"; break;
	case LWS_CALLBACK_ADD_POLL_FD: s = "ADD_POLL_FD"; break;
	case LWS_CALLBACK_DEL_POLL_FD: s = "DEL_POLL_FD"; break;
	case LWS_CALLBACK_CHANGE_MODE_POLL_FD: s = "CHANGE_MODE_POLL_FD"; break;
	case LWS_CALLBACK_LOCK_POLL: s = "LOCK_POLL"; break;
	case LWS_CALLBACK_UNLOCK_POLL: s = "UNLOCK_POLL"; break;
	case LWS_CALLBACK_SSL_INFO: s = "SSL_INFO"; break;
	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION: s = "OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION"; break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: s = "OPENSSL_PERFORM_SERVER_CERT_VERIFICATION"; break;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: s = "OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS"; break;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS: s = "OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS"; break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: s = "WS_PEER_INITIATED_CLOSE"; break;
	case LWS_CALLBACK_RECEIVE_PONG: s = "RECEIVE_PONG"; break;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG: s = "CLIENT_RECEIVE_PONG"; break;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: s = "CLIENT_FILTER_PRE_ESTABLISH"; break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: s = "CLIENT_APPEND_HANDSHAKE_HEADER"; break;
	case LWS_CALLBACK_CLIENT_HTTP_BIND_PROTOCOL: s = "CLIENT_HTTP_BIND_PROTOCOL"; break;
	case LWS_CALLBACK_CLIENT_HTTP_DROP_PROTOCOL: s = "CLIENT_HTTP_DROP_PROTOCOL"; break;
	case LWS_CALLBACK_CONNECTING: s = "CONNECTING"; break;
	case LWS_CALLBACK_WS_SERVER_BIND_PROTOCOL: s = "WS_SERVER_BIND_PROTOCOL"; break;
	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL: s = "WS_SERVER_DROP_PROTOCOL"; break;
	case LWS_CALLBACK_WS_CLIENT_BIND_PROTOCOL: s = "WS_CLIENT_BIND_PROTOCOL"; break;
	case LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL: s = "WS_CLIENT_DROP_PROTOCOL"; break;
	case LWS_CALLBACK_ADD_HEADERS: s = "ADD_HEADERS"; break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: s = "EVENT_WAIT_CANCELLED"; break;
	default: break;
	}
	if (s)
		return s;
	snprintf(buf, len, "REASON_%d", reason);

	return buf;
}

/* ---- OpenSSL error queue ------------------------------------------------ */

#define TH_ERRQ_MAX_POP 256

#if defined(TH_TLS_BACKEND_openssl)

int
th_errq_plant_at(int tag, const char *file, int line)
{
	if (tag < 0 || tag >= TH_PLANT_TAG_MAX)
		return -1;
	/* ERR_raise_data() with the caller's origin */
	ERR_new();
	ERR_set_debug(file, line, "th_errq_plant");
	ERR_set_error(ERR_LIB_USER, TH_PLANT_REASON_BASE + tag,
		      "lws-stress plant %d", tag);

	return 0;
}

int
th_errq_pending(void)
{
	return ERR_peek_error() != 0;
}

int
th_errq_drain(th_errq_cb_t cb, void *opaque, int preserve)
{
	th_errq_entry_t saved[TH_ERRQ_MAX_POP], e;
	const char *file, *func, *data, *rs;
	unsigned long code;
	int line, flags, n = 0, i;

	while (n < TH_ERRQ_MAX_POP &&
	       (code = ERR_get_error_all(&file, &line, &func, &data, &flags))) {
		memset(&e, 0, sizeof(e));
		e.code = code;
		e.lib = ERR_GET_LIB(code);
		e.reason = ERR_GET_REASON(code);
		e.line = line;
		e.planted = e.lib == ERR_LIB_USER &&
			    e.reason >= TH_PLANT_REASON_BASE &&
			    e.reason < TH_PLANT_REASON_BASE + TH_PLANT_TAG_MAX;
		e.plant_tag = e.planted ? e.reason - TH_PLANT_REASON_BASE : -1;
		snprintf(e.file, sizeof(e.file), "%s", file ? file : "?");
		snprintf(e.func, sizeof(e.func), "%s", func ? func : "?");
		rs = ERR_reason_error_string(code);
		if (data && *data && (flags & ERR_TXT_STRING))
			snprintf(e.text, sizeof(e.text), "%s (%s)",
				 rs ? rs : "?", data);
		else if (rs)
			snprintf(e.text, sizeof(e.text), "%s", rs);
		else
			snprintf(e.text, sizeof(e.text), "lib %d reason %d",
				 e.lib, e.reason);
		if (cb)
			cb(&e, opaque);
		saved[n++] = e;
	}
	/* anything beyond the bound is discarded: the queue itself is bounded */
	if (n == TH_ERRQ_MAX_POP)
		ERR_clear_error();

	if (preserve)
		for (i = 0; i < n; i++) {
			ERR_new();
			ERR_set_debug(saved[i].file, saved[i].line,
				      saved[i].func);
			ERR_set_error(saved[i].lib, saved[i].reason, NULL);
		}

	return n;
}

#elif defined(TH_TLS_BACKEND_wolfssl)

int
th_errq_plant_at(int tag, const char *file, int line)
{
	if (tag < 0 || tag >= TH_PLANT_TAG_MAX)
		return -1;
	ERR_put_error(ERR_LIB_USER, 0, TH_PLANT_REASON_BASE + tag, file, line);

	return 0;
}

int
th_errq_pending(void)
{
	return ERR_peek_error() != 0;
}

int
th_errq_drain(th_errq_cb_t cb, void *opaque, int preserve)
{
	const char *file, *data;
	th_errq_entry_t e;
	unsigned long code;
	int line, flags, n = 0;

	/* wolfSSL keeps no function names; preserve is not offered */
	(void)preserve;
	while (n < TH_ERRQ_MAX_POP &&
	       (code = ERR_get_error_line_data(&file, &line, &data, &flags))) {
		memset(&e, 0, sizeof(e));
		e.code = code;
		e.lib = ERR_GET_LIB(code);
		e.reason = ERR_GET_REASON(code);
		e.line = line;
		e.planted = e.lib == ERR_LIB_USER &&
			    e.reason >= TH_PLANT_REASON_BASE &&
			    e.reason < TH_PLANT_REASON_BASE + TH_PLANT_TAG_MAX;
		e.plant_tag = e.planted ? e.reason - TH_PLANT_REASON_BASE : -1;
		snprintf(e.file, sizeof(e.file), "%s", file ? file : "?");
		snprintf(e.func, sizeof(e.func), "?");
		/* wolfSSL has no text for many of its codes: name the code */
		snprintf(e.text, sizeof(e.text), "%s (%ld)",
			 ERR_reason_error_string(code) ?
				ERR_reason_error_string(code) : "?",
			 (long)code);
		if (cb)
			cb(&e, opaque);
		n++;
	}
	if (n == TH_ERRQ_MAX_POP)
		ERR_clear_error();

	return n;
}

#else /* mbedtls: there is no error queue */

int
th_errq_plant_at(int tag, const char *file, int line)
{
	(void)tag;
	(void)file;
	(void)line;
	return -1;
}

int
th_errq_pending(void)
{
	return 0;
}

int
th_errq_drain(th_errq_cb_t cb, void *opaque, int preserve)
{
	(void)cb;
	(void)opaque;
	(void)preserve;
	return 0;
}

#endif

const char *
th_errq_describe(const th_errq_entry_t *e, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s:%d:%s:%s%s", e->file, e->line, e->func,
		     e->text, e->planted ? " [planted]" : "") < 0 && len)
		*buf = '\0';

	return buf;
}

void
th_errq_tab_add(th_errq_tab_t *t, const char *site, const th_errq_entry_t *e)
{
	char desc[sizeof(t->e[0].desc)], full[512];
	int i;

	th_errq_describe(e, full, sizeof(full));
	snprintf(desc, sizeof(desc), "%.*s", (int)sizeof(desc) - 1, full);
	for (i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].site, site) && !strcmp(t->e[i].desc, desc)) {
			t->e[i].count++;
			return;
		}
	if (t->n == TH_ERRQ_TAB_MAX) {
		t->overflow++;
		return;
	}
	snprintf(t->e[t->n].site, sizeof(t->e[0].site), "%s", site);
	memcpy(t->e[t->n].desc, desc, sizeof(desc));
	t->e[t->n].planted = e->planted;
	t->e[t->n].count = 1;
	t->n++;
}

void
th_errq_tab_json(th_json_t *j, const char *key, const th_errq_tab_t *t)
{
	int i;

	th_json_arr_open(j, key);
	for (i = 0; i < t->n; i++) {
		th_json_obj_open(j, NULL);
		th_json_str(j, "site", t->e[i].site);
		th_json_str(j, "entry", t->e[i].desc);
		th_json_bool(j, "planted", t->e[i].planted);
		th_json_uint(j, "count", t->e[i].count);
		th_json_obj_close(j);
	}
	th_json_arr_close(j);
	if (t->overflow)
		th_json_uint(j, "distinct_overflow", t->overflow);
}

/* ---- queue checker ------------------------------------------------------ */

struct th_errq_look_ctx {
	th_errq_check_t	*q;
	const char	*site;
	th_errq_look_t	*res;
};

void
th_errq_check_init(th_errq_check_t *q, int enabled, const char * const *sites)
{
	memset(q, 0, sizeof(*q));
	q->enabled = enabled;
	while (sites && *sites && q->n_sites < TH_ERRQ_CHECK_SITES)
		q->site[q->n_sites++].name = *sites++;
}

int
th_errq_reason_in_ssl_call(int reason)
{
	return reason == LWS_CALLBACK_SSL_INFO ||
	       reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION ||
	       reason == LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION;
}

static void
th_errq_look_cb(const th_errq_entry_t *e, void *opaque)
{
	struct th_errq_look_ctx *c = opaque;
	char desc[512];

	c->res->entries++;
	th_errq_tab_add(&c->q->tab, c->site, e);
	if (e->planted) {
		c->res->planted_n++;
		return;
	}
	c->res->lws_n++;
	th_errq_describe(e, desc, sizeof(desc));
	if (!c->res->first[0])
		snprintf(c->res->first, sizeof(c->res->first), "%.*s",
			 (int)sizeof(c->res->first) - 1, desc);
	if (c->q->enabled && c->q->logged++ < 200)
		lwsl_user("stale OpenSSL error left by lws, seen %s: %s\n",
			  c->site, desc);
}

/* drain (or look, if preserve) and attribute to site */
static void
th_errq_look(th_errq_check_t *q, const char *site, int preserve,
	     th_errq_look_t *res)
{
	struct th_errq_look_ctx c;

	memset(res, 0, sizeof(*res));
	c.q = q;
	c.site = site;
	c.res = res;
	th_errq_drain(th_errq_look_cb, &c, preserve);
}

void
th_errq_check_at_callback(th_errq_check_t *q, int reason)
{
	int r = reason < 0 || reason >= TH_ERRQ_CHECK_REASONS ?
			TH_ERRQ_CHECK_REASONS - 1 : reason;
	th_errq_look_t res;
	char nb[32];

	if (!q->enabled || !th_errq_pending())
		return;
	if (th_errq_reason_in_ssl_call(reason)) {
		/* the entries may belong to the SSL call in flight: look only */
		q->in_ssl_pending[r]++;
		return;
	}
	th_errq_look(q, th_lws_reason_name(reason, nb, sizeof(nb)), 0, &res);
	q->lws_left[r] += (unsigned long)res.lws_n;
	q->planted[r] += (unsigned long)res.planted_n;
}

static th_errq_site_t *
th_errq_site_get(th_errq_check_t *q, const char *name)
{
	int i;

	for (i = 0; i < q->n_sites; i++)
		if (!strcmp(q->site[i].name, name))
			return &q->site[i];
	if (q->n_sites == TH_ERRQ_CHECK_SITES)
		return NULL;	/* still listed in distinct_entries */
	q->site[q->n_sites].name = name;

	return &q->site[q->n_sites++];
}

int
th_errq_check_measure(th_errq_check_t *q, const char *site,
		      th_errq_look_t *res)
{
	th_errq_look_t local;
	th_errq_site_t *s;

	if (!res)
		res = &local;
	th_errq_look(q, site, !q->enabled, res);
	s = th_errq_site_get(q, site);
	if (s) {
		s->lws_left += (unsigned long)res->lws_n;
		s->planted += (unsigned long)res->planted_n;
	}

	return res->entries;
}

void
th_errq_check_after(th_errq_check_t *q, const char *site,
		    th_errq_look_t *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
	if (!q->enabled || !th_errq_pending())
		return;
	th_errq_check_measure(q, site, res);
}

unsigned long
th_errq_check_site_lws(const th_errq_check_t *q, const char *site)
{
	int i;

	for (i = 0; i < q->n_sites; i++)
		if (!strcmp(q->site[i].name, site))
			return q->site[i].lws_left;

	return 0;
}

unsigned long
th_errq_check_lws_total(const th_errq_check_t *q)
{
	unsigned long t = 0;
	int i;

	for (i = 0; i < TH_ERRQ_CHECK_REASONS; i++)
		t += q->lws_left[i];
	for (i = 0; i < q->n_sites; i++)
		t += q->site[i].lws_left;

	return t;
}

/* one "REASON_NAME": count member per callback reason with a nonzero count */
static void
json_nonzero_by_reason(th_json_t *j, const unsigned long *counts)
{
	char nb[32];
	int i;

	for (i = 0; i < TH_ERRQ_CHECK_REASONS; i++)
		if (counts[i])
			th_json_uint(j, th_lws_reason_name(i, nb, sizeof(nb)),
				     counts[i]);
}

void
th_errq_check_json(th_json_t *j, const char *key, const th_errq_check_t *q)
{
	unsigned long tp = 0;
	int i;

	for (i = 0; i < TH_ERRQ_CHECK_REASONS; i++)
		tp += q->planted[i];
	for (i = 0; i < q->n_sites; i++)
		tp += q->site[i].planted;

	th_json_obj_open(j, key);
	th_json_bool(j, "checked", q->enabled);
	th_json_uint(j, "lws_left_total", th_errq_check_lws_total(q));
	th_json_uint(j, "planted_seen_total", tp);
	th_json_obj_open(j, "lws_left_at_callback");
	json_nonzero_by_reason(j, q->lws_left);
	for (i = 0; i < q->n_sites; i++)
		th_json_uint(j, q->site[i].name, q->site[i].lws_left);
	th_json_obj_close(j);
	th_json_obj_open(j, "planted_seen_at_callback");
	json_nonzero_by_reason(j, q->planted);
	for (i = 0; i < q->n_sites; i++)
		th_json_uint(j, q->site[i].name, q->site[i].planted);
	th_json_obj_close(j);
	th_json_obj_open(j, "pending_inside_ssl_callbacks");
	json_nonzero_by_reason(j, q->in_ssl_pending);
	th_json_obj_close(j);
	th_errq_tab_json(j, "distinct_entries", &q->tab);
	th_json_obj_close(j);
}

/* ---- why connections end ------------------------------------------------ */

int
th_lws_have_close_cause(void)
{
#if defined(LWS_HARDENED_HAS_CLOSE_CAUSE)
	return 1;
#else
	return 0;
#endif
}

void
th_lws_conn_end(struct lws *wsi, th_conn_end_t *e)
{
	memset(e, 0, sizeof(*e));
	e->alert = -1;
#if defined(LWS_HARDENED_HAS_CLOSE_CAUSE)
	if (!wsi)
		return;
	e->cause = lws_hardened_close_cause_name(lws_hardened_close_cause(wsi));
	e->alert = lws_hardened_tls_alert(wsi);
	lws_hardened_tls_error(wsi, e->tls_error, sizeof(e->tls_error));
#else
	(void)wsi;
#endif
}

void
th_end_tab_add(th_end_tab_t *t, const th_conn_end_t *e)
{
	int i;

	if (!e->cause)
		return;
	t->ends++;
	for (i = 0; i < t->n_causes; i++)
		if (!strcmp(t->by_cause[i].cause, e->cause))
			break;
	if (i == t->n_causes && t->n_causes < TH_END_CAUSES_MAX)
		t->by_cause[t->n_causes++].cause = e->cause;
	if (i < t->n_causes)	/* the enum has fewer than 16 names */
		t->by_cause[i].count++;

	if (!e->tls_error[0]) {
		t->no_error++;
		return;
	}
	for (i = 0; i < t->n_err; i++)
		if (!strcmp(t->err[i].cause, e->cause) &&
		    !strcmp(t->err[i].text, e->tls_error)) {
			t->err[i].count++;
			return;
		}
	if (t->n_err == TH_END_ERRORS_MAX) {
		t->err_overflow++;
		return;
	}
	t->err[t->n_err].cause = e->cause;
	memcpy(t->err[t->n_err].text, e->tls_error, sizeof(e->tls_error));
	t->err[t->n_err].count = 1;
	t->n_err++;
}

void
th_end_tab_json(th_json_t *j, const char *by_cause_key, const char *errors_key,
		const th_end_tab_t *t)
{
	int i;

	if (!th_lws_have_close_cause()) {
		th_json_str(j, by_cause_key, NULL);
		th_json_str(j, errors_key, NULL);
		return;
	}
	th_json_obj_open(j, by_cause_key);
	for (i = 0; i < t->n_causes; i++)
		th_json_uint(j, t->by_cause[i].cause, t->by_cause[i].count);
	th_json_obj_close(j);

	th_json_obj_open(j, errors_key);
	th_json_uint(j, "ends", t->ends);
	th_json_uint(j, "without_error", t->no_error);
	th_json_arr_open(j, "distinct");
	for (i = 0; i < t->n_err; i++) {
		th_json_obj_open(j, NULL);
		th_json_str(j, "cause", t->err[i].cause);
		th_json_str(j, "text", t->err[i].text);
		th_json_uint(j, "count", t->err[i].count);
		th_json_obj_close(j);
	}
	th_json_arr_close(j);
	th_json_uint(j, "not_listed", t->err_overflow);
	th_json_obj_close(j);
}

void
th_lws_counters_snap(th_ctr_snap_t *s, struct lws_context *cx)
{
	memset(s, 0, sizeof(*s));
#if defined(LWS_HARDENED_HAS_CLOSE_CAUSE)
	{
		const char *name;

		/* the library says how many it has: NULL past the last */
		while (s->n < TH_CTR_MAX &&
		       (name = lws_hardened_counter_name(s->n))) {
			s->name[s->n] = name;
			s->value[s->n] = (unsigned long long)
					lws_hardened_counter(cx, s->n);
			s->n++;
		}
		if (s->n == TH_CTR_MAX && lws_hardened_counter_name(s->n))
			th_warn("more than %d library counters: only the first "
				"%d are reported", TH_CTR_MAX, TH_CTR_MAX);
	}
#else
	(void)cx;
	s->n = -1;
#endif
}

void
th_lws_counters_json(th_json_t *j, const char *key, const th_ctr_snap_t *s)
{
	int i;

	if (s->n < 0) {
		th_json_str(j, key, NULL);
		return;
	}
	th_json_obj_open(j, key);
	for (i = 0; i < s->n; i++)
		th_json_uint(j, s->name[i], s->value[i]);
	th_json_obj_close(j);
}

/* ---- stress message header ---------------------------------------------- */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

void
th_msg_hdr_put(uint8_t *p, const th_msg_hdr_t *h)
{
	put32(p, h->magic);
	put32(p + 4, h->conn_id);
	put32(p + 8, h->attempt);
	put32(p + 12, h->seq);
	put32(p + 16, h->flags);
	put32(p + 20, h->len);
	put32(p + 24, h->crc);
}

int
th_msg_hdr_get(const uint8_t *p, size_t len, th_msg_hdr_t *h)
{
	if (len < TH_MSG_HDR_LEN)
		return -1;
	h->magic = get32(p);
	if (h->magic != TH_MSG_MAGIC)
		return -1;
	h->conn_id = get32(p + 4);
	h->attempt = get32(p + 8);
	h->seq = get32(p + 12);
	h->flags = get32(p + 16);
	h->len = get32(p + 20);
	h->crc = get32(p + 24);

	return 0;
}

/* ---- JSON --------------------------------------------------------------- */

void
th_lws_json_header(th_json_t *j, const char *tool, uint64_t seed)
{
	th_json_str(j, "tool", tool);
	th_json_str(j, "lws_version", lws_get_library_version());
	th_json_str(j, "tls_backend", th_lws_backend_name());
#if defined(TH_TLS_BACKEND_openssl)
	th_json_str(j, "tls_library", OpenSSL_version(OPENSSL_VERSION));
#else
	th_json_str(j, "tls_library", th_lws_backend_name());
#endif
	th_json_uint(j, "seed", (unsigned long long)seed);
}

void
th_lws_no_abortive_close(struct lws_context *cx)
{
#if defined(LWS_HARDENED_HAS_ABORTIVE_CLOSE)
	if (!lws_hardened_abortive_close(cx, 0))
		return;
#else
	(void)cx;
#endif
	th_die("--no-abortive-close: this libwebsockets has no abortive close "
	       "to turn off");
}
