/* cli_args.c - the option parser of every command (see cli_args.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define HELP_COLUMN 39

static void print_lines(FILE *f, const char *text, int indent) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%*s%.*s\n", indent, "", n, p);
        p += n + (nl != NULL);
    }
}

void cli_print_usage(const cli_command_t *cmd, FILE *f) {
    const char *syn = cmd->synopsis ? cmd->synopsis : "";
    const char *nl = strchr(syn, '\n');
    int n = nl ? (int)(nl - syn) : (int)strlen(syn);
    fprintf(f, "usage: micl %s%s%.*s\n", cmd->name, n ? " " : "", n, syn);
    if (nl) print_lines(f, nl + 1, 7);
}

void cli_print_help_entry(const cli_command_t *cmd, FILE *f) {
    const char *syn = cmd->synopsis ? cmd->synopsis : "";
    const char *nl = strchr(syn, '\n');
    int n = nl ? (int)(nl - syn) : (int)strlen(syn);
    int width = (int)strlen("micl ") + (int)strlen(cmd->name) + (n ? 1 + n : 0);
    fprintf(f, "micl %s%s%.*s", cmd->name, n ? " " : "", n, syn);
    const char *sum = cmd->summary ? cmd->summary : "";
    if (nl) { /* continuation lines of the synopsis first, the summary below them */
        fputc('\n', f);
        print_lines(f, nl + 1, 10);
        print_lines(f, sum, HELP_COLUMN);
        return;
    }
    const char *snl = strchr(sum, '\n');
    int sn = snl ? (int)(snl - sum) : (int)strlen(sum);
    if (sn == 0)
        fputc('\n', f);
    else if (width < HELP_COLUMN)
        fprintf(f, "%*s%.*s\n", HELP_COLUMN - width, "", sn, sum);
    else
        fprintf(f, "\n%*s%.*s\n", HELP_COLUMN, "", sn, sum);
    if (snl) print_lines(f, snl + 1, HELP_COLUMN);
}

static int vusage_error(const cli_command_t *cmd, const char *fmt, va_list ap) {
    if (micl_rank() == 0) {
        fflush(stdout);
        fprintf(stderr, "micl %s: ", cmd->name);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        cli_print_usage(cmd, stderr);
        fprintf(stderr, "Run 'micl %s --help' for its options, 'micl help' for every command.\n",
                cmd->name);
    }
    return MICL_EXIT_USAGE;
}

int cli_usage_error(const cli_command_t *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = vusage_error(cmd, fmt, ap);
    va_end(ap);
    return rc;
}

/* An integer in [lo, hi]; 0 on failure (message printed). */
static int parse_integer(const cli_command_t *cmd, const char *flag, const char *s, int64_t lo,
                         int64_t hi, const char *whole, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        if (whole)
            cli_usage_error(cmd, "%s expects an integer in [%lld, %lld], got '%s' (in '%s')", flag,
                            (long long)lo, (long long)hi, s, whole);
        else
            cli_usage_error(cmd, "%s expects an integer in [%lld, %lld], got '%s'", flag,
                            (long long)lo, (long long)hi, s);
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

static int parse_list(const cli_command_t *cmd, const cli_opt_t *o, const char *s) {
    int *out = o->dest, n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[32];
        if (len == 0 || len >= sizeof item) {
            cli_usage_error(cmd, "%s expects comma-separated integers in [%lld, %lld], got '%s'",
                            o->name, (long long)o->lo, (long long)o->hi, s);
            return 0;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        int64_t v;
        if (!parse_integer(cmd, o->name, item, o->lo, o->hi, s, &v)) return 0;
        if (n == o->max) {
            cli_usage_error(cmd, "%s takes at most %d values, got '%s'", o->name, o->max, s);
            return 0;
        }
        out[n++] = (int)v;
        if (o->increasing && n > 1 && out[n - 1] <= out[n - 2]) {
            cli_usage_error(cmd, "%s: values must increase, got '%s'", o->name, s);
            return 0;
        }
        if (!comma) break;
        p = comma + 1;
    }
    *o->count = n;
    return 1;
}

static int parse_choice(const cli_command_t *cmd, const cli_opt_t *o, const char *s) {
    int n = 0;
    while (o->choices[n])
        n++;
    for (int i = 0; i < n; i++)
        if (strcmp(s, o->choices[i]) == 0) {
            *(int *)o->dest = i;
            return 1;
        }
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'",
                                i == 0       ? ""
                                : i == n - 1 ? " or "
                                             : ", ",
                                o->choices[i]);
    cli_usage_error(cmd, "%s expects %s, got '%s'", o->name, list, s);
    return 0;
}

/* Stores the value of option o; 0 after a usage error. */
static int set_value(const cli_command_t *cmd, const cli_opt_t *o, const char *val) {
    int64_t v;
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return 1;
    case CLI_STRING:
        *(const char **)o->dest = val;
        return 1;
    case CLI_INT:
        if (!parse_integer(cmd, o->name, val, o->lo, o->hi, NULL, &v)) return 0;
        *(int *)o->dest = (int)v;
        return 1;
    case CLI_INT64:
        if (!parse_integer(cmd, o->name, val, o->lo, o->hi, NULL, &v)) return 0;
        *(int64_t *)o->dest = v;
        return 1;
    case CLI_LIST:
        return parse_list(cmd, o, val);
    case CLI_CHOICE:
        return parse_choice(cmd, o, val);
    }
    return 0;
}

static void print_help(const cli_command_t *cmd) {
    if (micl_rank() != 0) return;
    cli_print_usage(cmd, stdout);
    if (cmd->summary) print_lines(stdout, cmd->summary, 2);
    if (cmd->details) print_lines(stdout, cmd->details, 0);
}

int cli_parse(const cli_command_t *cmd, const cli_opt_t *opts, int argc, char **argv,
              const char **args, int *n_args, int *rc) {
    int n = 0, n_opts = 0;
    *rc = MICL_EXIT_USAGE;
    while (opts && opts[n_opts].name)
        n_opts++;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(cmd);
            *rc = MICL_EXIT_OK;
            return 0;
        }
    }
    /* which options were given: none may be given twice (a second value would silently win) */
    unsigned char *given = micl_calloc((size_t)n_opts + 1, 1);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') { /* a positional argument ("-" included) */
            if (cmd->max_args >= 0 && n >= cmd->max_args) {
                cli_usage_error(cmd, "unexpected argument '%s'", a);
                free(given);
                return 0;
            }
            args[n++] = a;
            continue;
        }
        const cli_opt_t *o = opts;
        while (o && o->name && strcmp(o->name, a) != 0)
            o++;
        if (!o || !o->name) {
            cli_usage_error(cmd, "unknown option '%s'", a);
            free(given);
            return 0;
        }
        if (given[o - opts]++) {
            cli_usage_error(cmd, "option '%s' is given twice", a);
            free(given);
            return 0;
        }
        const char *val = NULL;
        if (o->kind != CLI_FLAG) {
            if (i + 1 >= argc) {
                cli_usage_error(cmd, "option '%s' needs a value", a);
                free(given);
                return 0;
            }
            val = argv[++i];
        }
        if (!set_value(cmd, o, val)) {
            free(given);
            return 0;
        }
    }
    free(given);
    if (n < cmd->min_args) {
        if (n == 0)
            cli_usage_error(cmd, "missing %s", cmd->arg_names);
        else
            cli_usage_error(cmd, "expected %s, got %d argument%s", cmd->arg_names, n,
                            n == 1 ? "" : "s");
        return 0;
    }
    if (n_args) *n_args = n;
    *rc = MICL_EXIT_OK;
    return 1;
}
