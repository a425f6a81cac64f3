/*
 * lws-hardened test apps: small shared helpers (no lws dependency)
 *
 * Option parsing conventions, seeded randomness, monotonic time, a tiny JSON
 * writer and fatal-error reporting, shared by every tool in test-apps/ so no
 * tool grows its own copy.
 */
#ifndef TH_UTIL_H
#define TH_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

/* ---- errors ------------------------------------------------------------ */

/* print "<prog>: <message>\n" to stderr and exit(2) (usage / setup errors) */
void th_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* set the program name used by th_die / th_warn (call first in main) */
void th_set_progname(const char *argv0);
void th_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* sockets this process has open (/proc/self/fd), -1 if it cannot tell */
int th_count_open_sockets(void);

/*
 * The shared ends of every tool's getopt_long() loop (optstring ":..."):
 * th_die_bad_option() for the ':' / '?' cases (missing value, unknown
 * option), th_die_extra_args() after the loop (no positional arguments).
 */
void th_die_bad_option(int c, char **argv) __attribute__((noreturn));
void th_die_extra_args(int argc, char **argv);

/* ---- strict number parsing for options: th_die() on junk or range ------- */

long long th_parse_ll(const char *opt, const char *s, long long min, long long max);
double th_parse_double(const char *opt, const char *s, double min, double max);
/* "host:port" or "port" (host defaults to 127.0.0.1); th_die() on error */
void th_parse_hostport(const char *opt, const char *s, char *host, size_t hostlen,
		       int *port);
/* same, with IPv6 as "[ADDR]:PORT"; allow_port_zero lets a listener ask the
 * kernel for an ephemeral port (th_parse_hostport rejects port 0) */
void th_parse_hostport_ex(const char *opt, const char *s, char *host,
			  size_t hostlen, int *port, int allow_port_zero);

/* ---- deterministic randomness ------------------------------------------ */

/* splitmix64-seeded xoshiro256** generator; same seed, same sequence */
typedef struct th_rng {
	uint64_t s[4];
} th_rng_t;

void th_rng_seed(th_rng_t *r, uint64_t seed);
uint64_t th_rng_next(th_rng_t *r);
/* uniform in [0, n) (n > 0) */
uint64_t th_rng_below(th_rng_t *r, uint64_t n);
/* uniform in [0, 1) */
double th_rng_unit(th_rng_t *r);
/* derive an independent stream, e.g. per connection: seed ^ mix(index) */
void th_rng_fork(th_rng_t *child, uint64_t seed, uint64_t index);

/* ---- time ---------------------------------------------------------------- */

uint64_t th_now_us(void); /* CLOCK_MONOTONIC in microseconds */
double th_now_s(void);

/* ---- checksum for message payloads ------------------------------------- */

uint32_t th_crc32(const void *p, size_t len);

/* ---- JSON writer ---------------------------------------------------------
 * Streams well-formed JSON to a FILE*; handles commas and string escaping.
 *
 *   th_json_t j; th_json_init(&j, stdout);
 *   th_json_obj_open(&j, NULL);
 *   th_json_int(&j, "drops", 0);
 *   th_json_arr_open(&j, "ends"); ... th_json_arr_close(&j);
 *   th_json_obj_close(&j);   // prints newline when depth returns to 0
 *
 * key is NULL inside arrays.
 */
#define TH_JSON_MAX_DEPTH 16
typedef struct th_json {
	FILE *f;
	int depth;
	int first[TH_JSON_MAX_DEPTH];
} th_json_t;

void th_json_init(th_json_t *j, FILE *f);
void th_json_obj_open(th_json_t *j, const char *key);
void th_json_obj_close(th_json_t *j);
void th_json_arr_open(th_json_t *j, const char *key);
void th_json_arr_close(th_json_t *j);
void th_json_int(th_json_t *j, const char *key, long long v);
void th_json_uint(th_json_t *j, const char *key, unsigned long long v);
void th_json_double(th_json_t *j, const char *key, double v);
void th_json_bool(th_json_t *j, const char *key, int v);
void th_json_str(th_json_t *j, const char *key, const char *v); /* NULL -> null */

/* open a JSON output file: "-" means stdout; th_die() with reason on failure */
FILE *th_open_output(const char *path);

#endif
