/*
 * lws-hardened test apps: small shared helpers (no lws dependency)
 *
 * See th-util.h for the contract.  Everything here is single-threaded
 * friendly and allocation free, so any tool (including the lws service
 * thread of the stress apps) can call it at any time.
 */
#define _GNU_SOURCE
#include "th-util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *th_progname = "th";

/* ---- errors ------------------------------------------------------------ */

void
th_set_progname(const char *argv0)
{
	const char *slash;

	if (!argv0 || !*argv0)
		return;
	slash = strrchr(argv0, '/');
	th_progname = slash ? slash + 1 : argv0;
}

static void
th_vreport(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", th_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void
th_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vreport(fmt, ap);
	va_end(ap);
	exit(2);
}

void
th_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vreport(fmt, ap);
	va_end(ap);
}

/* ---- strict number parsing ---------------------------------------------- */

long long
th_parse_ll(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;

	if (!s || !*s)
		th_die("%s: missing number", opt);

	/*
	 * Base 10 only: base 0 would read "010" as octal 8, a classic way for
	 * a test plan to silently mean something else than it says.
	 */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end)
		th_die("%s: '%s' is not an integer", opt, s);
	if (errno == ERANGE || v < min || v > max)
		th_die("%s: %s is out of range [%lld..%lld]", opt, s, min, max);

	return v;
}

double
th_parse_double(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	if (!s || !*s)
		th_die("%s: missing number", opt);

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || isnan(v) || isinf(v))
		th_die("%s: '%s' is not a number", opt, s);
	if (errno == ERANGE || v < min || v > max)
		th_die("%s: %s is out of range [%g..%g]", opt, s, min, max);

	return v;
}

void
th_parse_hostport_ex(const char *opt, const char *s, char *host, size_t hostlen,
		     int *port, int allow_port_zero)
{
	const char *colon, *port_str, *h;
	size_t hl;

	if (!s || !*s)
		th_die("%s: missing HOST:PORT", opt);

	if (*s == '[') {
		/* [v6addr]:port */
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			th_die("%s: '%s': expected [ADDR]:PORT", opt, s);
		h = s + 1;
		hl = (size_t)(close - h);
		port_str = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			h = "127.0.0.1";
			hl = strlen(h);
			port_str = s;
		} else {
			if (strchr(s, ':') != colon)
				th_die("%s: '%s': write IPv6 as [ADDR]:PORT",
				       opt, s);
			h = s;
			hl = (size_t)(colon - s);
			port_str = colon + 1;
		}
	}

	if (!hl)
		th_die("%s: '%s': empty host", opt, s);
	if (hl >= hostlen)
		th_die("%s: '%s': host too long", opt, s);

	*port = (int)th_parse_ll(opt, port_str, allow_port_zero ? 0 : 1, 65535);
	memcpy(host, h, hl);
	host[hl] = '\0';
}

void
th_parse_hostport(const char *opt, const char *s, char *host, size_t hostlen,
		  int *port)
{
	th_parse_hostport_ex(opt, s, host, hostlen, port, 0);
}

/* ---- deterministic randomness ------------------------------------------ */

static uint64_t
th_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;

	return z ^ (z >> 31);
}

static uint64_t
th_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
th_rng_seed(th_rng_t *r, uint64_t seed)
{
	uint64_t sm = seed;
	int n;

	/* splitmix64 never yields the all-zero state xoshiro cannot leave */
	for (n = 0; n < 4; n++)
		r->s[n] = th_splitmix64(&sm);
}

uint64_t
th_rng_next(th_rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = th_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = th_rotl(s[3], 45);

	return result;
}

uint64_t
th_rng_below(th_rng_t *r, uint64_t n)
{
	uint64_t x, limit;
	int tries;

	if (n <= 1)
		return 0;

	/*
	 * Reject the top sliver that would make "x % n" favour small values;
	 * the rejection probability is < 1/2, so 64 tries never all fail in
	 * practice, and the loop stays bounded.
	 */
	limit = UINT64_MAX - (UINT64_MAX % n);
	for (tries = 0; tries < 64; tries++) {
		x = th_rng_next(r);
		if (x < limit)
			break;
	}

	return x % n;
}

double
th_rng_unit(th_rng_t *r)
{
	return (double)(th_rng_next(r) >> 11) * 0x1.0p-53;
}

void
th_rng_fork(th_rng_t *child, uint64_t seed, uint64_t index)
{
	uint64_t sm = index ^ 0x6a09e667f3bcc909ull;

	th_rng_seed(child, seed ^ th_splitmix64(&sm));
}

/* ---- time ---------------------------------------------------------------- */

uint64_t
th_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

double
th_now_s(void)
{
	return (double)th_now_us() / 1e6;
}

/* ---- crc32 (IEEE 802.3, reflected, as zlib) ------------------------------ */

uint32_t
th_crc32(const void *p, size_t len)
{
	/* a nibble table: constant, so thread safe with no init step */
	static const uint32_t nib[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const uint8_t *b = p;
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *b++;
		crc = (crc >> 4) ^ nib[crc & 15];
		crc = (crc >> 4) ^ nib[crc & 15];
	}

	return crc ^ 0xffffffffu;
}

/* ---- JSON writer --------------------------------------------------------- */

void
th_json_init(th_json_t *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

static void
th_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* comma and "key": as needed before any value */
static void
th_json_pre(th_json_t *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;

	if (key && j->depth) {
		th_json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void
th_json_open(th_json_t *j, const char *key, char c)
{
	if (j->depth + 1 >= TH_JSON_MAX_DEPTH)
		th_die("internal: JSON nesting deeper than %d",
		       TH_JSON_MAX_DEPTH - 1);

	th_json_pre(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first[j->depth] = 1;
}

static void
th_json_close(th_json_t *j, char c)
{
	if (!j->depth)
		th_die("internal: JSON close without open");

	fputc(c, j->f);
	j->depth--;
	if (!j->depth) {
		/* one document per line; flushed so a reader never sees half */
		fputc('\n', j->f);
		fflush(j->f);
		j->first[0] = 1;
	}
}

void
th_json_obj_open(th_json_t *j, const char *key)
{
	th_json_open(j, key, '{');
}

void
th_json_obj_close(th_json_t *j)
{
	th_json_close(j, '}');
}

void
th_json_arr_open(th_json_t *j, const char *key)
{
	th_json_open(j, key, '[');
}

void
th_json_arr_close(th_json_t *j)
{
	th_json_close(j, ']');
}

void
th_json_int(th_json_t *j, const char *key, long long v)
{
	th_json_pre(j, key);
	fprintf(j->f, "%lld", v);
}

void
th_json_uint(th_json_t *j, const char *key, unsigned long long v)
{
	th_json_pre(j, key);
	fprintf(j->f, "%llu", v);
}

void
th_json_double(th_json_t *j, const char *key, double v)
{
	th_json_pre(j, key);
	/* JSON has no NaN or Infinity */
	if (isnan(v) || isinf(v))
		fputs("null", j->f);
	else
		fprintf(j->f, "%.15g", v);
}

void
th_json_bool(th_json_t *j, const char *key, int v)
{
	th_json_pre(j, key);
	fputs(v ? "true" : "false", j->f);
}

void
th_json_str(th_json_t *j, const char *key, const char *v)
{
	th_json_pre(j, key);
	if (v)
		th_json_string(j->f, v);
	else
		fputs("null", j->f);
}

FILE *
th_open_output(const char *path)
{
	FILE *f;

	if (!path || !*path)
		th_die("missing output file name");
	if (!strcmp(path, "-"))
		return stdout;

	f = fopen(path, "w");
	if (!f)
		th_die("cannot open '%s' for writing: %s", path, strerror(errno));

	return f;
}

void
th_die_bad_option(int c, char **argv)
{
	if (c == ':')
		th_die("option %s needs a value (see --help)", argv[optind - 1]);
	th_die("unknown option '%s' (see --help)", argv[optind - 1]);
}

void
th_die_extra_args(int argc, char **argv)
{
	if (optind < argc)
		th_die("unexpected argument '%s' (see --help)", argv[optind]);
}

int
th_count_open_sockets(void)
{
	char path[64], target[64];
	struct dirent *de;
	ssize_t n;
	int count = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, "socket:", 7))
			count++;
	}
	closedir(d);

	return count;
}
