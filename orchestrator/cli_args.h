/* cli_args.h - parsing of command-line option values shared by the subcommands: integers in a
 * range and comma-separated increasing integer lists. A bad value is a fatal error naming the
 * option and what it expects. */
#ifndef MICL_CLI_ARGS_H
#define MICL_CLI_ARGS_H

/* The integer `s` of option `flag`, in [lo, hi]. */
long cli_long(const char *flag, const char *s, long lo, long hi);
/* "a,b,c" into out[0..n) (n <= max, each in [lo, hi], strictly increasing); returns n >= 1. */
int cli_int_list(const char *flag, const char *s, int *out, int max, int lo, int hi);

#endif
