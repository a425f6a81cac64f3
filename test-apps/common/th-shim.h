/*
 * th-shim: what the LD_PRELOAD fault-injection shims share (header only:
 * a shim is a small module that links nothing of the test harness).
 */

#ifndef TH_SHIM_H
#define TH_SHIM_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * The required count in environment variable var, >= 1.  Missing or bad, the
 * process stops at load (exit 3): a shim never silently does nothing.
 */
static inline unsigned long
th_shim_env_count(const char *tool, const char *var, const char *what)
{
	const char *v = getenv(var);
	unsigned long n = 0;
	char *end = NULL;

	if (v && *v)
		n = strtoul(v, &end, 10);
	if (n < 1 || *end) {
		fprintf(stderr, "%s: %s must be %s >= 1 (got '%s')\n", tool, var,
			what, v ? v : "(unset)");
		_exit(3);
	}

	return n;
}

/* the exit summary: one line of JSON to stderr and, if named, to file */
/*
 * An optional count: 0 when var is unset or empty, else as th_shim_env_count()
 * (a value that is set but not a number >= 1 still stops the process).
 */
static inline unsigned long
th_shim_env_optional(const char *tool, const char *var, const char *what)
{
	const char *v = getenv(var);

	if (!v || !*v)
		return 0;

	return th_shim_env_count(tool, var, what);
}

static inline void
th_shim_report(const char *tool, const char *line, const char *file)
{
	FILE *f;

	fputs(line, stderr);
	if (!file || !*file)
		return;
	f = fopen(file, "w");
	if (!f) {
		fprintf(stderr, "%s: cannot write the report %s\n", tool, file);
		return;
	}
	fputs(line, f);
	fclose(f);
}

#endif
