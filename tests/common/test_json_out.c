/* test_json_out.c - the JSON writer (common/json_out.h): exact layout of a streamed list with a
 * head, reals that read back as the same double (and "1.0" for an integral one), null for NaN
 * and Inf, escapes, and bytes outside UTF-8 written as U+FFFD (in values and keys). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_out.h"

static int bad;

static void expect(const char *what, const char *got, const char *want) {
    if (strcmp(got, want) != 0) {
        printf("FAIL %s:\n  got  %s\n  want %s\n", what, got, want);
        bad++;
    }
}

/* What json_out_write prints for v. */
static char *dumped(json_t *v) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_out_write(f, v, "a test stream");
    fclose(f);
    return buf;
}

static void check(const char *what, json_t *v, const char *want) {
    char *s = dumped(v);
    expect(what, s, want);
    free(s);
}

int main(void) {
    /* every double in this list reads back bit for bit */
    const double reals[] = {0.1, 1.0 / 3.0, 2.5e-310, 1e300, -0.0, 123456789.125, 0.5};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        char *s = dumped(json_out_real(reals[i]));
        double back = strtod(s, NULL);
        if (memcmp(&back, &reals[i], sizeof back) != 0) {
            printf("FAIL real %.17g printed as %s reads back as %.17g\n", reals[i], s, back);
            bad++;
        }
        free(s);
    }
    check("integral real", json_out_real(1.0), "1.0");
    check("NaN", json_out_real(NAN), "null");
    check("Inf", json_out_real(-INFINITY), "null");
    check("int64", json_out_int(INT64_MIN), "-9223372036854775808");

    json_t *o = json_out_object();
    json_out_set_string(o, "z", "q\"b\\s\n\x01");
    json_out_set_string(o, "a", "caf\xc3\xa9 \xe9t\xff");                /* Latin-1 bytes */
    json_out_set_string(o, "\xff key", "over\xc0\xaflong \xed\xa0\x80"); /* overlong, surrogate */
    json_out_set_int(o, "n", 3);
    check("object: insertion order, escapes, U+FFFD", o,
          "{\"z\": \"q\\\"b\\\\s\\n\\u0001\", \"a\": \"caf\xc3\xa9 \xef\xbf\xbdt\xef\xbf\xbd\", "
          "\"\xef\xbf\xbd key\": \"over\xef\xbf\xbd\xef\xbf\xbdlong "
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\", \"n\": 3}");

    /* streamed lists: with a head and a key, and a bare top-level array; empty lists too */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *head = json_out_object();
    json_out_set_int(head, "v", 1);
    json_out_list_t l;
    json_out_list_begin(&l, f, "a test stream", head, "runs", "  ");
    for (int i = 0; i < 2; i++) {
        json_t *item = json_out_object(), *a = json_out_array();
        json_out_append(a, json_out_int(i));
        json_out_append(a, json_out_real(0.25));
        json_out_set(item, "x", a);
        json_out_list_add(&l, item);
    }
    json_out_list_end(&l);
    json_out_list_begin(&l, f, "a test stream", NULL, "groups", "  ");
    json_out_list_end(&l);
    json_out_list_begin(&l, f, "a test stream", NULL, NULL, " ");
    json_out_list_add(&l, json_out_string("s"));
    json_out_list_end(&l);
    fclose(f);
    expect("streamed lists", buf,
           "{\"v\": 1, \"runs\": [\n  {\"x\": [0, 0.25]},\n  {\"x\": [1, 0.25]}\n]}\n"
           "{\"groups\": [\n]}\n"
           "[\n \"s\"\n]\n");
    free(buf);
    if (!bad) printf("json_out: ok\n");
    return bad != 0;
}
