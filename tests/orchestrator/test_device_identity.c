/* test_device_identity.c - model.device, model.precision and --device in a run's identity.
 *
 * A sweep's run ids hash the resolved config texts (orchestrator/sweep_plan.c). Checked here on
 * configs/sweep_small.cfg: a --device equal to the config's (cpu, the default) leaves every
 * resolved text, id and the sweep's hash as they are; --device cuda puts model.device =
 * "cuda" into every resolved text, so every id and the sweep's hash change (a GPU sweep never
 * adopts a CPU sweep's runs); a config that says cuda itself keeps its ids under --device cuda;
 * --device cpu is refused for a bf16 config; the loader records the line of model.device.
 *
 *   test_device_identity SRC
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "orchestrator/sweep_plan.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                                    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* The plan of `text` with --device `device` (NULL: none given). */
static void plan_of(const char *text, const char *device, config_t *cfg, sweep_plan_t *p) {
    config_load_string(text, "sweep_small.cfg", cfg);
    char err[512];
    if (device) CHECK(config_set_device(cfg, device, err, sizeof err) == 0);
    sweep_plan_build(cfg, 0, 1, p);
}

static char *read_file(const char *path) {
    FILE *f = micl_fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = micl_malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) micl_fatal("%s: short read", path);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The text with `line` inserted after the first line that holds `after`; *line_no (NULL: not
 * wanted) gets the inserted line's number. */
static char *insert_after(const char *text, const char *after, const char *line, int *line_no) {
    const char *at = strstr(text, after);
    if (!at) micl_fatal("no '%s' in the config", after);
    at = strchr(at, '\n') + 1;
    if (line_no) {
        *line_no = 1;
        for (const char *q = text; q < at; q++)
            *line_no += *q == '\n';
    }
    size_t n = strlen(text) + strlen(line) + 2;
    char *out = micl_malloc(n);
    snprintf(out, n, "%.*s%s\n%s", (int)(at - text), text, line, at);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_device_identity SRC\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/sweep_small.cfg", argv[1]);
    char *text = read_file(path);

    config_t c0, c1, c2;
    sweep_plan_t p0, p1, p2;
    plan_of(text, NULL, &c0, &p0);
    CHECK(strcmp(c0.model.device, "cpu") == 0 && strcmp(c0.model.precision, "fp32") == 0);
    CHECK(strcmp(c0.train.reduce, "tree") == 0 && c0.model.device_line == 0);
    plan_of(text, "cpu", &c1, &p1); /* the config's own device: nothing changes */
    CHECK(c1.model.device_flag == 0);
    plan_of(text, "cuda", &c2, &p2); /* another device: part of every run */
    CHECK(c2.model.device_flag == 1 && strcmp(c2.model.device, "cuda") == 0);
    CHECK(p0.n_points == p1.n_points && p0.n_points == p2.n_points && p0.n_points > 1);
    CHECK(strcmp(p0.config_hash, p1.config_hash) == 0);
    CHECK(strcmp(p0.config_hash, p2.config_hash) != 0);
    for (int i = 0; i < p0.n_points; i++) {
        CHECK(strcmp(p0.points[i].text, p1.points[i].text) == 0);
        CHECK(strcmp(p0.points[i].id, p1.points[i].id) == 0);
        CHECK(strcmp(p0.points[i].id, p2.points[i].id) != 0);
        CHECK(strcmp(p0.points[i].name, p2.points[i].name) == 0);
        CHECK(strstr(p0.points[i].text, "device") == NULL);
        config_t pc;
        sweep_plan_config(&p2, i, &pc);
        CHECK(strcmp(pc.model.device, "cuda") == 0 && pc.model.device_flag == 0);
        config_free(&pc);
    }
    printf("sweep_small: %d runs; --device cpu keeps ids and hash %s, --device cuda gives %s\n",
           p0.n_points, p0.config_hash, p2.config_hash);

    /* a config that says cuda: --device cuda changes nothing, its text carries the device */
    int line;
    char *cuda_text = insert_after(text, "model = {", "  device = \"cuda\";", &line);
    config_t c3, c4;
    sweep_plan_t p3, p4;
    plan_of(cuda_text, NULL, &c3, &p3);
    plan_of(cuda_text, "cuda", &c4, &p4);
    CHECK(c3.model.device_line == line && c4.model.device_flag == 0);
    CHECK(strcmp(p3.config_hash, p4.config_hash) == 0);
    CHECK(strcmp(p3.config_hash, p0.config_hash) != 0);

    /* bf16 needs cuda: --device cpu is refused with the reason */
    char *bf16_text = insert_after(cuda_text, "model = {", "  precision = \"bf16\";", NULL);
    config_t c5;
    config_load_string(bf16_text, "bf16.cfg", &c5);
    char err[512] = "";
    CHECK(config_set_device(&c5, "cpu", err, sizeof err) != 0);
    CHECK(strstr(err, "model.precision") && strstr(err, "bf16") && strstr(err, "cuda"));
    CHECK(strcmp(c5.model.device, "cuda") == 0); /* unchanged */
    printf("--device cpu on a bf16 config: %s\n", err);

    sweep_plan_free(&p0), sweep_plan_free(&p1), sweep_plan_free(&p2);
    sweep_plan_free(&p3), sweep_plan_free(&p4);
    config_free(&c0), config_free(&c1), config_free(&c2), config_free(&c3), config_free(&c4);
    config_free(&c5);
    free(text), free(cuda_text), free(bf16_text);
    if (failures)
        printf("%d check(s) failed\n", failures);
    else
        printf("test_device_identity: ok\n");
    return failures ? 1 : 0;
}
