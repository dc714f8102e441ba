/* cli_args.c - option value parsing (see cli_args.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"

long cli_long(const char *flag, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
        micl_fatal("%s expects an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
    return v;
}

int cli_int_list(const char *flag, const char *s, int *out, int max, int lo, int hi) {
    int n = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf) micl_fatal("%s: list too long", flag);
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max) micl_fatal("%s: at most %d values", flag, max);
        out[n++] = (int)cli_long(flag, t, lo, hi);
        if (n > 1 && out[n - 1] <= out[n - 2]) micl_fatal("%s: values must increase", flag);
    }
    if (n == 0) micl_fatal("%s: empty list", flag);
    return n;
}
