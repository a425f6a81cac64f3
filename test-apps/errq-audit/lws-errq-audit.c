/*
 * lws-errq-audit: is an OpenSSL program exposed to error-queue bleed, and
 * which code leaves the errors behind?  An LD_PRELOAD library for any
 * program that uses OpenSSL 3 (an lws application, mosquitto, curl...).
 *
 * OpenSSL keeps one error queue per thread.  SSL_get_error() answers from
 * the oldest entry on it, so an I/O call entered with a stale entry that
 * then returns <= 0 (often only "wait for the socket") is reported as
 * SSL_ERROR_SSL or SSL_ERROR_SYSCALL, and the application drops a healthy
 * connection (field report 1; the SSL_get_error man page asks for an empty
 * queue before the call).  The library wraps
 *
 *   SSL_read SSL_read_ex SSL_peek SSL_peek_ex SSL_write SSL_write_ex
 *   SSL_do_handshake SSL_accept SSL_connect SSL_shutdown
 *
 * changes nothing they do, and counts, per function:
 *   calls            all (outermost) calls
 *   stale_at_entry   calls entered with a non-empty queue
 *   misled           of those, calls that failed while the stale entry was
 *                    still the oldest: SSL_get_error() answers from it
 *   misled_waiting   of those, calls that were only waiting for I/O
 *                    (SSL_want_read/write): a healthy connection taken for
 *                    a broken one
 * and names where each stale entry came from: OpenSSL's record of it
 * (function, file:line, reason) and the wrapped call that returned with it
 * still queued, with that call's caller (object, function, source line:
 * dladdr() and, when installed, addr2line), counted per origin; and the
 * victims (which call, called from where, was entered dirty).
 *
 * Environment:
 *   LWS_ERRQ_AUDIT_OUT=FILE     text summary to FILE (default stderr)
 *   LWS_ERRQ_AUDIT_JSON=FILE    JSON summary to FILE too
 *                               (in both, %p is replaced by the pid)
 *   LWS_ERRQ_AUDIT_SIGNAL=SIG   also write the summary after signal SIG
 *                               (a name such as USR2, or a number): at the
 *                               program's next wrapped SSL call, since a
 *                               signal handler may not write files
 *   LWS_ERRQ_AUDIT_SYMBOLIZE=0  do not run addr2line at exit
 * The summary is written at exit by the process that loaded the library,
 * when it made SSL calls or is the program the wrapper started
 * (LWS_ERRQ_AUDIT_MAIN_PID, set by the wrapper).
 * The wrapper script lws-errq-audit sets these from options (--help).
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define AUDIT_MAX_ORIGINS	64
#define AUDIT_MAX_VICTIMS	64

enum audit_fn {
	A_SSL_READ, A_SSL_READ_EX, A_SSL_PEEK, A_SSL_PEEK_EX, A_SSL_WRITE,
	A_SSL_WRITE_EX, A_SSL_DO_HANDSHAKE, A_SSL_ACCEPT, A_SSL_CONNECT,
	A_SSL_SHUTDOWN, A_COUNT
};

struct audit_counts {
	unsigned long	stale_at_entry;
	unsigned long	misled;
	unsigned long	misled_waiting;
};

static struct audit_fn_info {
	const char		*name;
	void			*real;
	unsigned long		calls;
	struct audit_counts	n;
} fns[A_COUNT] = {
	[A_SSL_READ]		= { "SSL_read" },
	[A_SSL_READ_EX]		= { "SSL_read_ex" },
	[A_SSL_PEEK]		= { "SSL_peek" },
	[A_SSL_PEEK_EX]		= { "SSL_peek_ex" },
	[A_SSL_WRITE]		= { "SSL_write" },
	[A_SSL_WRITE_EX]	= { "SSL_write_ex" },
	[A_SSL_DO_HANDSHAKE]	= { "SSL_do_handshake" },
	[A_SSL_ACCEPT]		= { "SSL_accept" },
	[A_SSL_CONNECT]		= { "SSL_connect" },
	[A_SSL_SHUTDOWN]	= { "SSL_shutdown" },
};

/* one entry of OpenSSL's queue, as OpenSSL recorded it */
struct audit_entry {
	unsigned long	code;
	char		file[160];
	char		func[64];
	int		line;
	/* OpenSSL's strings, taken when the entry is kept: at exit its
	 * tables may already be freed */
	char		library[48];
	char		reason[96];
};

/*
 * The wrapped call a stale entry was left behind by (fn < 0: none of them;
 * the entry was queued by other code between two wrapped calls).
 */
struct audit_origin {
	int			left_by;
	const void		*caller;
	struct audit_entry	entry;
	struct audit_counts	n;
	int			first_victim;
	const void		*first_victim_caller;
};

struct audit_victim {
	int			fn;
	const void		*caller;
	struct audit_counts	n;
};

static struct audit_origin origins[AUDIT_MAX_ORIGINS];
static struct audit_victim victims[AUDIT_MAX_VICTIMS];
static int n_origins, n_victims;
static unsigned long origins_overflow, victims_overflow;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Per thread: the nesting depth (OpenSSL's SSL_connect calls the exported
 * SSL_do_handshake: only the outermost call is audited) and the last wrapped
 * call that returned with entries still queued.
 */
struct audit_pending {
	int			valid;
	int			fn;
	const void		*caller;
	struct audit_entry	head;
};
static __thread int depth;
static __thread struct audit_pending pending;

static pid_t owner_pid;
static int summary_signal;
static volatile sig_atomic_t summary_requested;

static void audit_write_summary(const char *why);

static void *
audit_real(int fn)
{
	if (!fns[fn].real) {
		fns[fn].real = dlsym(RTLD_NEXT, fns[fn].name);
		if (!fns[fn].real) {
			fprintf(stderr, "lws-errq-audit: cannot find the real "
				"%s (dlsym RTLD_NEXT): is libssl loaded?\n",
				fns[fn].name);
			_exit(3);
		}
	}
	return fns[fn].real;
}

/* the oldest queued entry (the one SSL_get_error() looks at), or 0 */
static unsigned long
audit_peek_head(struct audit_entry *e)
{
	const char *file = NULL, *func = NULL;
	int line = 0;

	memset(e, 0, sizeof(*e));
	e->code = ERR_peek_error_all(&file, &line, &func, NULL, NULL);
	if (!e->code)
		return 0;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	snprintf(e->func, sizeof(e->func), "%s", func ? func : "");
	e->line = line;

	return e->code;
}

static void
audit_entry_strings(struct audit_entry *e)
{
	const char *lib = ERR_lib_error_string(e->code);
	const char *reason = ERR_reason_error_string(e->code);

	snprintf(e->library, sizeof(e->library), "%s", lib ? lib : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
}

static int
audit_same_entry(const struct audit_entry *a, const struct audit_entry *b)
{
	return a->code == b->code && a->line == b->line &&
	       !strcmp(a->file, b->file) && !strcmp(a->func, b->func);
}

static void
audit_add(struct audit_counts *c, int misled, int waiting)
{
	c->stale_at_entry++;
	c->misled += !!misled;
	c->misled_waiting += !!waiting;
}

/* with lock held */
static void
audit_count_origin(const struct audit_entry *stale, int fn,
		   const void *caller, int misled, int waiting)
{
	int left_by = -1, i;
	const void *left_caller = NULL;
	struct audit_origin *o = NULL;

	if (pending.valid && audit_same_entry(&pending.head, stale)) {
		left_by = pending.fn;
		left_caller = pending.caller;
	}
	for (i = 0; i < n_origins && !o; i++)
		if (origins[i].left_by == left_by &&
		    origins[i].caller == left_caller &&
		    audit_same_entry(&origins[i].entry, stale))
			o = &origins[i];
	if (!o) {
		if (n_origins == AUDIT_MAX_ORIGINS) {
			origins_overflow++;
			return;
		}
		o = &origins[n_origins++];
		o->left_by = left_by;
		o->caller = left_caller;
		o->entry = *stale;
		audit_entry_strings(&o->entry);
		o->first_victim = fn;
		o->first_victim_caller = caller;
	}
	audit_add(&o->n, misled, waiting);
}

/* with lock held */
static void
audit_count_victim(int fn, const void *caller, int misled, int waiting)
{
	struct audit_victim *v = NULL;
	int i;

	for (i = 0; i < n_victims && !v; i++)
		if (victims[i].fn == fn && victims[i].caller == caller)
			v = &victims[i];
	if (!v) {
		if (n_victims == AUDIT_MAX_VICTIMS) {
			victims_overflow++;
			return;
		}
		v = &victims[n_victims++];
		v->fn = fn;
		v->caller = caller;
	}
	audit_add(&v->n, misled, waiting);
}

/*
 * Around every outermost wrapped call: audit_enter() before it (returns
 * whether the queue was dirty, with its head in *stale), audit_leave() after
 * it with the call's result and whether that result is a failure.
 */
static int
audit_enter(int fn, struct audit_entry *stale)
{
	if (summary_requested && getpid() == owner_pid) {
		summary_requested = 0;
		audit_write_summary("signal");
	}
	__atomic_add_fetch(&fns[fn].calls, 1, __ATOMIC_RELAXED);

	return audit_peek_head(stale) != 0;
}

static void
audit_leave(int fn, const void *caller, SSL *ssl, int dirty,
	    const struct audit_entry *stale, int failed)
{
	struct audit_entry head;
	int misled = 0, waiting = 0;

	audit_peek_head(&head);
	if (dirty) {
		/* SSL_get_error() will answer from the stale entry */
		misled = failed && audit_same_entry(&head, stale);
		waiting = misled && ssl && (SSL_want_read(ssl) ||
					    SSL_want_write(ssl));
		pthread_mutex_lock(&lock);
		audit_add(&fns[fn].n, misled, waiting);
		audit_count_origin(stale, fn, caller, misled, waiting);
		audit_count_victim(fn, caller, misled, waiting);
		pthread_mutex_unlock(&lock);
	}

	if (!head.code) {
		pending.valid = 0;
		return;
	}
	if (dirty && audit_same_entry(&head, stale))
		return;	/* still the earlier call's entry: keep its origin */
	pending.valid = 1;
	pending.fn = fn;
	pending.caller = caller;
	pending.head = head;
}

/*
 * One wrapper: call the real function with the audit around it.  The
 * caller's address is the wrapper's return address (the wrappers are called
 * through the PLT from the caller's object).
 */
#define AUDIT_WRAP(fn, type, args, ssl, failed_if)			\
	do {								\
		const void *caller = __builtin_return_address(0);	\
		struct audit_entry stale;				\
		type r;							\
		int dirty;						\
									\
		if (depth++) {						\
			r = real args;					\
			depth--;					\
			return r;					\
		}							\
		dirty = audit_enter(fn, &stale);			\
		r = real args;						\
		audit_leave(fn, caller, ssl, dirty, &stale, failed_if);	\
		depth--;						\
		return r;						\
	} while (0)

int
SSL_read(SSL *s, void *buf, int num)
{
	int (*real)(SSL *, void *, int) = audit_real(A_SSL_READ);

	AUDIT_WRAP(A_SSL_READ, int, (s, buf, num), s, r <= 0);
}

int
SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
	int (*real)(SSL *, void *, size_t, size_t *) = audit_real(A_SSL_READ_EX);

	AUDIT_WRAP(A_SSL_READ_EX, int, (s, buf, num, readbytes), s, r <= 0);
}

int
SSL_peek(SSL *s, void *buf, int num)
{
	int (*real)(SSL *, void *, int) = audit_real(A_SSL_PEEK);

	AUDIT_WRAP(A_SSL_PEEK, int, (s, buf, num), s, r <= 0);
}

int
SSL_peek_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
	int (*real)(SSL *, void *, size_t, size_t *) = audit_real(A_SSL_PEEK_EX);

	AUDIT_WRAP(A_SSL_PEEK_EX, int, (s, buf, num, readbytes), s, r <= 0);
}

int
SSL_write(SSL *s, const void *buf, int num)
{
	int (*real)(SSL *, const void *, int) = audit_real(A_SSL_WRITE);

	AUDIT_WRAP(A_SSL_WRITE, int, (s, buf, num), s, r <= 0);
}

int
SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)
{
	int (*real)(SSL *, const void *, size_t, size_t *) =
						audit_real(A_SSL_WRITE_EX);

	AUDIT_WRAP(A_SSL_WRITE_EX, int, (s, buf, num, written), s, r <= 0);
}

int
SSL_do_handshake(SSL *s)
{
	int (*real)(SSL *) = audit_real(A_SSL_DO_HANDSHAKE);

	AUDIT_WRAP(A_SSL_DO_HANDSHAKE, int, (s), s, r <= 0);
}

int
SSL_accept(SSL *s)
{
	int (*real)(SSL *) = audit_real(A_SSL_ACCEPT);

	AUDIT_WRAP(A_SSL_ACCEPT, int, (s), s, r <= 0);
}

int
SSL_connect(SSL *s)
{
	int (*real)(SSL *) = audit_real(A_SSL_CONNECT);

	AUDIT_WRAP(A_SSL_CONNECT, int, (s), s, r <= 0);
}

/* 0 from SSL_shutdown() is "sent, not yet received", not a failure */
int
SSL_shutdown(SSL *s)
{
	int (*real)(SSL *) = audit_real(A_SSL_SHUTDOWN);

	AUDIT_WRAP(A_SSL_SHUTDOWN, int, (s), s, r < 0);
}

/* ---- the summary -------------------------------------------------------- */

/* where code at address addr is: object, nearest exported symbol, offset */
struct audit_place {
	char		object[256];	/* path */
	const char	*base;		/* its last component */
	char		symbol[128];
	unsigned long	offset;
	char		function[128];	/* from addr2line, else symbol */
	char		source[256];
};

static void
audit_symbolize(struct audit_place *p)
{
	char cmd[512], fn[sizeof(p->function)], src[sizeof(p->source)];
	const char *s = getenv("LWS_ERRQ_AUDIT_SYMBOLIZE");
	char *preload;
	FILE *f;

	if ((s && !strcmp(s, "0")) || !p->object[0] ||
	    strchr(p->object, '\'') || access("/usr/bin/addr2line", X_OK))
		return;
	/* the call instruction is just before the return address */
	snprintf(cmd, sizeof(cmd), "/usr/bin/addr2line -f -e '%s' 0x%lx 2>/dev/null",
		 p->object, p->offset - 1);
	/*
	 * addr2line must not run with this library preloaded: its summary
	 * would overwrite ours.  At exit, so no other thread reads environ.
	 */
	preload = getenv("LD_PRELOAD");
	if (preload)
		preload = strdup(preload);
	unsetenv("LD_PRELOAD");
	f = popen(cmd, "r");
	if (preload) {
		setenv("LD_PRELOAD", preload, 1);
		free(preload);
	}
	if (!f)
		return;
	if (fgets(fn, sizeof(fn), f) && fgets(src, sizeof(src), f)) {
		fn[strcspn(fn, "\n")] = '\0';
		src[strcspn(src, "\n")] = '\0';
		if (fn[0] && strcmp(fn, "??"))
			snprintf(p->function, sizeof(p->function), "%s", fn);
		if (src[0] && strncmp(src, "??", 2))
			snprintf(p->source, sizeof(p->source), "%s", src);
	}
	pclose(f);
}

static void
audit_place_of(const void *addr, struct audit_place *p)
{
	Dl_info di;

	memset(p, 0, sizeof(*p));
	p->base = p->object;
	if (!addr || !dladdr(addr, &di) || !di.dli_fname)
		return;
	snprintf(p->object, sizeof(p->object), "%s", di.dli_fname);
	p->base = strrchr(p->object, '/') ? strrchr(p->object, '/') + 1 :
					    p->object;
	snprintf(p->symbol, sizeof(p->symbol), "%s",
		 di.dli_sname ? di.dli_sname : "");
	p->offset = (unsigned long)((const char *)addr -
				    (const char *)di.dli_fbase);
	snprintf(p->function, sizeof(p->function), "%s", p->symbol);
	audit_symbolize(p);
}

/* a JSON string, with the few escapes these strings can need */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_counts(FILE *f, const struct audit_counts *c)
{
	fprintf(f, "\"stale_at_entry\":%lu,\"misled\":%lu,\"misled_waiting\":%lu",
		c->stale_at_entry, c->misled, c->misled_waiting);
}

static void
json_place(FILE *f, const char *key, int fn, const void *addr)
{
	struct audit_place p;

	if (fn < 0) {
		fprintf(f, "\"%s\":null", key);
		return;
	}
	audit_place_of(addr, &p);
	fprintf(f, "\"%s\":{\"call\":\"%s\",\"object\":", key, fns[fn].name);
	json_str(f, p.base);
	fprintf(f, ",\"path\":");
	json_str(f, p.object);
	fprintf(f, ",\"symbol\":");
	json_str(f, p.symbol);
	fprintf(f, ",\"offset\":\"0x%lx\",\"function\":", p.offset);
	json_str(f, p.function);
	fprintf(f, ",\"source\":");
	json_str(f, p.source);
	fputc('}', f);
}

static void
json_entry(FILE *f, const struct audit_entry *e)
{
	fprintf(f, "\"entry\":{\"code\":\"0x%08lx\",\"library\":", e->code);
	json_str(f, e->library);
	fprintf(f, ",\"reason\":");
	json_str(f, e->reason);
	fprintf(f, ",\"function\":");
	json_str(f, e->func);
	fprintf(f, ",\"file\":");
	json_str(f, e->file);
	fprintf(f, ",\"line\":%d}", e->line);
}

static struct audit_counts
audit_totals(unsigned long *calls)
{
	struct audit_counts t = { 0 };
	int i;

	*calls = 0;
	for (i = 0; i < A_COUNT; i++) {
		*calls += fns[i].calls;
		t.stale_at_entry += fns[i].n.stale_at_entry;
		t.misled += fns[i].n.misled;
		t.misled_waiting += fns[i].n.misled_waiting;
	}
	return t;
}

static void
audit_json(FILE *f, const char *why)
{
	unsigned long calls;
	struct audit_counts t = audit_totals(&calls);
	int i;

	fprintf(f, "{\"lws_errq_audit\":{\"pid\":%d,\"written_at\":\"%s\","
		"\"calls\":%lu,", (int)getpid(), why, calls);
	json_counts(f, &t);
	fprintf(f, ",\"functions\":{");
	for (i = 0; i < A_COUNT; i++) {
		fprintf(f, "%s\"%s\":{\"calls\":%lu,", i ? "," : "",
			fns[i].name, fns[i].calls);
		json_counts(f, &fns[i].n);
		fputc('}', f);
	}
	fprintf(f, "},\"origins\":[");
	for (i = 0; i < n_origins; i++) {
		const struct audit_origin *o = &origins[i];

		fprintf(f, "%s{", i ? "," : "");
		json_place(f, "left_by", o->left_by, o->caller);
		fputc(',', f);
		json_entry(f, &o->entry);
		fputc(',', f);
		json_counts(f, &o->n);
		fputc(',', f);
		json_place(f, "first_victim", o->first_victim,
			   o->first_victim_caller);
		fputc('}', f);
	}
	fprintf(f, "],\"victims\":[");
	for (i = 0; i < n_victims; i++) {
		fprintf(f, "%s{", i ? "," : "");
		json_place(f, "victim", victims[i].fn, victims[i].caller);
		fputc(',', f);
		json_counts(f, &victims[i].n);
		fputc('}', f);
	}
	fprintf(f, "],\"origins_not_kept\":%lu,\"victims_not_kept\":%lu}}\n",
		origins_overflow, victims_overflow);
}

static void
text_place(FILE *f, int fn, const void *addr)
{
	struct audit_place p;

	audit_place_of(addr, &p);
	fprintf(f, "%s() called from %s", fns[fn].name,
		p.function[0] ? p.function : "?");
	if (p.source[0])
		fprintf(f, " (%s)", p.source);
	fprintf(f, " in %s+0x%lx", p.base[0] ? p.base : "?", p.offset);
}

static void
audit_text(FILE *f, const char *why)
{
	unsigned long calls;
	struct audit_counts t = audit_totals(&calls);
	int i;

	fprintf(f, "lws-errq-audit: pid %d (%s): %lu SSL calls, %lu entered "
		"with a stale error queue, %lu of them misled SSL_get_error() "
		"(%lu only waiting for I/O)\n", (int)getpid(), why, calls,
		t.stale_at_entry, t.misled, t.misled_waiting);
	fprintf(f, "lws-errq-audit: %s\n", t.stale_at_entry ?
		"EXPOSED: calls started with entries another call left behind" :
		"clean: every audited call started with an empty queue");
	for (i = 0; i < n_origins; i++) {
		const struct audit_origin *o = &origins[i];

		fprintf(f, "  origin %d: %lu stale, %lu misled (%lu waiting): "
			"error 0x%08lx \"%s\" raised in %s (%s:%d)\n", i + 1,
			o->n.stale_at_entry, o->n.misled, o->n.misled_waiting,
			o->entry.code, o->entry.reason, o->entry.func,
			o->entry.file, o->entry.line);
		fprintf(f, "    left by: ");
		if (o->left_by < 0)
			fprintf(f, "no audited call (queued by other code "
				"between SSL calls)");
		else
			text_place(f, o->left_by, o->caller);
		fprintf(f, "\n    first victim: ");
		text_place(f, o->first_victim, o->first_victim_caller);
		fputc('\n', f);
	}
	if (origins_overflow || victims_overflow)
		fprintf(f, "  (%lu origins, %lu victims not kept: tables full)\n",
			origins_overflow, victims_overflow);
}

/* FILE with %p replaced by the pid */
static FILE *
audit_open(const char *pattern)
{
	char path[512], *o = path;
	const char *s;

	for (s = pattern; *s && o < path + sizeof(path) - 16; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			o += sprintf(o, "%d", (int)getpid());
			s++;
		} else
			*o++ = *s;
	}
	*o = '\0';

	return fopen(path, "w");
}

static void
audit_write_summary(const char *why)
{
	const char *out = getenv("LWS_ERRQ_AUDIT_OUT");
	const char *json = getenv("LWS_ERRQ_AUDIT_JSON");
	FILE *f = stderr;

	pthread_mutex_lock(&lock);
	if (out && *out && !(f = audit_open(out))) {
		fprintf(stderr, "lws-errq-audit: cannot write %s\n", out);
		f = stderr;
	}
	audit_text(f, why);
	if (f != stderr)
		fclose(f);
	if (json && *json) {
		f = audit_open(json);
		if (f) {
			audit_json(f, why);
			fclose(f);
		} else
			fprintf(stderr, "lws-errq-audit: cannot write %s\n", json);
	}
	pthread_mutex_unlock(&lock);
}

static void
audit_on_signal(int sig)
{
	summary_requested = 1;
}

static void __attribute__((constructor))
audit_load(void)
{
	const char *s = getenv("LWS_ERRQ_AUDIT_SIGNAL");
	int i;

	owner_pid = getpid();
	for (i = 0; i < A_COUNT; i++)
		audit_real(i);
	if (!s || !*s)
		return;
	summary_signal = atoi(s);
	if (!summary_signal) {
		for (i = 1; i < NSIG && !summary_signal; i++) {
			const char *n = sigabbrev_np(i);

			if (n && (!strcmp(s, n) ||
				  (!strncmp(s, "SIG", 3) && !strcmp(s + 3, n))))
				summary_signal = i;
		}
	}
	if (summary_signal <= 0 || summary_signal >= NSIG ||
	    signal(summary_signal, audit_on_signal) == SIG_ERR) {
		fprintf(stderr, "lws-errq-audit: LWS_ERRQ_AUDIT_SIGNAL: "
			"'%s' is not a signal this process can catch\n", s);
		_exit(3);
	}
}

/*
 * Children inherit LD_PRELOAD: a process that made no SSL call writes no
 * summary (it would overwrite the program's own in the same file), unless
 * it is the program the wrapper started (LWS_ERRQ_AUDIT_MAIN_PID), which
 * always reports, if only "0 calls".
 */
static void __attribute__((destructor))
audit_unload(void)
{
	const char *main_pid = getenv("LWS_ERRQ_AUDIT_MAIN_PID");
	unsigned long calls;

	if (getpid() != owner_pid)
		return;
	audit_totals(&calls);
	if (calls || !main_pid || atoi(main_pid) == (int)getpid())
		audit_write_summary("exit");
}
