/* cli_args.h - the one option parser of every micl command.
 *
 * A command is described once (cli_command_t: its name, synopsis and summary, the help text
 * `micl help` and `micl CMD --help` print, and how many positional arguments it takes) and its
 * options by a table (cli_opt_t) that says where each value goes and what it must be. cli_parse
 * checks the whole command line before anything runs: options may stand anywhere, each value is
 * checked (integers and lists in range, no empty list item, choices among their words), and an
 * unknown option, an option given twice (no option is repeatable), a missing value, a stray or
 * missing argument is a usage error. Usage errors print one message on
 * rank 0, in one style, and give exit code 2 (MICL_EXIT_USAGE):
 *
 *   micl train: --steps expects an integer in [1, 100000], got 'x'
 *   usage: micl train CFG [-o RESULTS.h5] [--run NAME] [--resume]
 *   Run 'micl help' for every command.
 *
 * Every rank parses the same argv, so every rank returns the same code without talking.
 */
#ifndef MICL_CLI_ARGS_H
#define MICL_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *name;      /* "data show": messages start with "micl data show: " */
    const char *synopsis;  /* after "micl <name> "; '\n' starts a continuation line */
    const char *summary;   /* what it does, for `micl help` ('\n' between lines) */
    const char *details;   /* more lines for `micl <name> --help`, or NULL */
    const char *arg_names; /* the positional arguments in messages ("CFG"), or NULL for none */
    int min_args;          /* how many positional arguments it takes */
    int max_args;          /* < 0: no limit */
} cli_command_t;

typedef enum {
    CLI_FLAG,   /* no value: *(int *)dest = 1 */
    CLI_STRING, /* *(const char **)dest = the value */
    CLI_INT,    /* *(int *)dest, an integer in [lo, hi] */
    CLI_INT64,  /* *(int64_t *)dest, an integer in [lo, hi] */
    CLI_LIST,   /* "a,b,c": at most `max` integers in [lo, hi] into (int *)dest, the count into
                 * *count; strictly increasing when `increasing` */
    CLI_CHOICE  /* one of the NULL-terminated `choices`: its index into *(int *)dest */
} cli_kind_t;

typedef struct {
    const char *name; /* "--steps", "-o"; NULL ends a table */
    cli_kind_t kind;
    void *dest;
    int64_t lo, hi;
    int *count, max, increasing; /* CLI_LIST */
    const char *const *choices;  /* CLI_CHOICE */
} cli_opt_t;

/* Table rows: CLI_OPT_INT("--steps", &steps, 1, 100000), ..., CLI_OPT_END. */
#define CLI_OPT_FLAG(name, dest)                                                                   \
    { (name), CLI_FLAG, (dest), 0, 0, NULL, 0, 0, NULL }
#define CLI_OPT_STRING(name, dest)                                                                 \
    { (name), CLI_STRING, (dest), 0, 0, NULL, 0, 0, NULL }
#define CLI_OPT_INT(name, dest, lo, hi)                                                            \
    { (name), CLI_INT, (dest), (lo), (hi), NULL, 0, 0, NULL }
#define CLI_OPT_INT64(name, dest, lo, hi)                                                          \
    { (name), CLI_INT64, (dest), (lo), (hi), NULL, 0, 0, NULL }
#define CLI_OPT_LIST(name, dest, lo, hi, count, max, increasing)                                   \
    { (name), CLI_LIST, (dest), (lo), (hi), (count), (max), (increasing), NULL }
#define CLI_OPT_CHOICE(name, dest, choices)                                                        \
    { (name), CLI_CHOICE, (dest), 0, 0, NULL, 0, 0, (choices) }
#define CLI_OPT_END                                                                                \
    { NULL, CLI_FLAG, NULL, 0, 0, NULL, 0, 0, NULL }

/* Parses argv[0..argc) of `cmd` against `opts`; the positional arguments go to args[0..*n_args)
 * (args has room for max_args, or argc when unlimited; n_args may be NULL when there are none).
 * Returns 1 when the command should run; 0 when it should return *rc at once: after a usage
 * error (2, message printed) or -h/--help (0, the usage printed on stdout). */
int cli_parse(const cli_command_t *cmd, const cli_opt_t *opts, int argc, char **argv,
              const char **args, int *n_args, int *rc);
/* Prints "micl <name>: <message>", the usage and the pointer to `micl help` on stderr (rank 0
 * only); returns MICL_EXIT_USAGE. For the checks a command makes after cli_parse. */
int cli_usage_error(const cli_command_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "usage: micl <name> <synopsis>" (continuation lines indented) to f. */
void cli_print_usage(const cli_command_t *cmd, FILE *f);
/* One `micl help` entry: the synopsis, the summary aligned at column 40. */
void cli_print_help_entry(const cli_command_t *cmd, FILE *f);

#endif
