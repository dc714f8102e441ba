/* bench_out.c - shared helpers of the `micl bench` commands (see bench_out.h). */
#define _POSIX_C_SOURCE 200809L
#include "bench_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/h5util.h"
#include "worker/device.h"

static void iso_time(char *buf, size_t len) {
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "unknown");
}

hid_t bench_out_begin(const char *out, const char *measurement, atomic_file_t *af) {
    atomic_file_begin(af, out);
    hid_t f = h5_create(af->tmp);
    char host[256], created[64];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    iso_time(created, sizeof created);
    h5_attr_str(f, "kind", "micl-bench");
    h5_attr_int(f, "schema_version", BENCH_SCHEMA_VERSION);
    h5_attr_str(f, "measurement", measurement);
    h5_attr_str(f, "hostname", host);
    h5_attr_str(f, "created", created);
    h5_attr_str(f, "micl_version", MICL_VERSION);
    h5_attr_str(f, "device", device_backend()); /* what computed: cpu, cuda */
    h5_attr_str(f, "device_name", device_name());
    h5_attr_str(f, "isa", device_isa()); /* the kernels' instruction set ("" off the CPU) */
    h5_attr_str(f, "precision", device_precision());
    return f;
}

void bench_out_finish(hid_t f, atomic_file_t *af) {
    h5_close_file(f, af->tmp);
    char *out = micl_strdup(af->path);
    atomic_file_commit(af);
    printf("  wrote               %s\n", out);
    free(out);
}
