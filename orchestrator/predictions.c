/* predictions.c - reading predictions (JSON lines) and scoring them (see predictions.h). */
#define _POSIX_C_SOURCE 200809L
#include "predictions.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/results.h"
#include "benchmark_input.h"

typedef struct {
    char *id, *text;
    int64_t line;
    int used;
} prediction_t;

typedef struct {
    const char *path;
    int64_t line;
    const char *p;
} json_cursor_t;

#define JSON_FAIL(c, ...)                                                                          \
    micl_fatal("%s:%lld: %s", (c)->path, (long long)(c)->line, json_message(__VA_ARGS__))

static const char *json_message(const char *fmt, ...) {
    static char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

static void skip_ws(json_cursor_t *c) {
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
        c->p++;
}

static void put_utf8(char **o, unsigned cp) {
    if (cp < 0x80) {
        *(*o)++ = (char)cp;
    } else if (cp < 0x800) {
        *(*o)++ = (char)(0xC0 | (cp >> 6));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *(*o)++ = (char)(0xE0 | (cp >> 12));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* Parses a JSON string at c->p; returns it decoded (malloc'd). */
static char *parse_string(json_cursor_t *c) {
    if (*c->p != '"') JSON_FAIL(c, "expected a string");
    c->p++;
    char *out = micl_malloc(strlen(c->p) + 1), *o = out;
    while (*c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\0' || ch == '\n') JSON_FAIL(c, "unterminated string");
        if (ch < 0x20) JSON_FAIL(c, "control character in a string");
        if (ch != '\\') {
            *o++ = (char)ch;
            c->p++;
            continue;
        }
        c->p++;
        switch (*c->p) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 1; i <= 4; i++) {
                char h = c->p[i];
                if (!isxdigit((unsigned char)h)) JSON_FAIL(c, "bad \\u escape");
                cp = cp * 16 +
                     (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
            }
            if (cp == 0) JSON_FAIL(c, "\\u0000 in a string");
            put_utf8(&o, cp);
            c->p += 4;
            break;
        }
        default:
            JSON_FAIL(c, "bad escape '\\%c'", *c->p ? *c->p : '0');
        }
        c->p++;
    }
    c->p++;
    *o = '\0';
    return out;
}

/* Skips any JSON value (strings, numbers, literals, nested arrays and objects). */
static void skip_value(json_cursor_t *c, int depth) {
    if (depth > 64) JSON_FAIL(c, "nesting too deep");
    skip_ws(c);
    if (*c->p == '"') {
        free(parse_string(c));
    } else if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        int obj = *c->p == '{';
        c->p++;
        skip_ws(c);
        if (*c->p == close) {
            c->p++;
            return;
        }
        for (;;) {
            if (obj) {
                skip_ws(c);
                free(parse_string(c));
                skip_ws(c);
                if (*c->p++ != ':') JSON_FAIL(c, "expected ':'");
            }
            skip_value(c, depth + 1);
            skip_ws(c);
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p++ != close) JSON_FAIL(c, "expected ',' or '%c'", close);
            return;
        }
    } else {
        const char *s = c->p;
        while (*c->p && strchr("+-0123456789.eEtruefalsn", *c->p))
            c->p++;
        if (c->p == s) JSON_FAIL(c, "expected a JSON value");
    }
}

/* Parses one line: an object whose "id" and "prediction" members are strings. */
static void parse_line(json_cursor_t *c, prediction_t *out) {
    memset(out, 0, sizeof *out);
    out->line = c->line;
    skip_ws(c);
    if (*c->p++ != '{') JSON_FAIL(c, "expected a JSON object per line");
    skip_ws(c);
    if (*c->p == '}') JSON_FAIL(c, "empty object: 'id' and 'prediction' are required");
    for (;;) {
        skip_ws(c);
        char *key = parse_string(c);
        skip_ws(c);
        if (*c->p++ != ':') JSON_FAIL(c, "expected ':' after \"%s\"", key);
        skip_ws(c);
        char **slot = strcmp(key, "id") == 0           ? &out->id
                      : strcmp(key, "prediction") == 0 ? &out->text
                                                       : NULL;
        if (slot) {
            if (*c->p != '"') JSON_FAIL(c, "member \"%s\" must be a string", key);
            if (*slot) JSON_FAIL(c, "member \"%s\" appears twice", key);
            *slot = parse_string(c);
        } else {
            skip_value(c, 1);
        }
        free(key);
        skip_ws(c);
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p++ != '}') JSON_FAIL(c, "expected ',' or '}'");
        break;
    }
    skip_ws(c);
    if (*c->p) JSON_FAIL(c, "text after the object");
    if (!out->id) JSON_FAIL(c, "missing string member \"id\"");
    if (!out->text) JSON_FAIL(c, "missing string member \"prediction\"");
}

static int by_id(const void *a, const void *b) {
    return strcmp(((const prediction_t *)a)->id, ((const prediction_t *)b)->id);
}

static prediction_t *read_predictions(const char *path, int64_t *n_out) {
    FILE *f = fopen(path, "r");
    if (!f) micl_fatal("cannot read '%s': %s", path, strerror(errno));
    int64_t n = 0, cap = 0;
    prediction_t *preds = NULL;
    char *line = NULL;
    size_t len = 0;
    json_cursor_t c = {path, 0, NULL};
    for (ssize_t got; (got = getline(&line, &len, f)) >= 0;) {
        c.line++;
        if ((size_t)got != strlen(line)) JSON_FAIL(&c, "NUL byte in the line");
        c.p = line;
        if (c.line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
            c.p += 3; /* a UTF-8 byte order mark, as some editors write: not part of the JSON */
        skip_ws(&c);
        if (*c.p == '\0') continue; /* blank line */
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            preds = micl_realloc(preds, (size_t)cap * sizeof *preds);
        }
        parse_line(&c, &preds[n++]);
    }
    if (ferror(f)) micl_fatal("cannot read '%s': %s", path, strerror(errno));
    fclose(f);
    free(line);
    if (n == 0) micl_fatal("%s: no predictions (expected one JSON object per line)", path);
    qsort(preds, (size_t)n, sizeof *preds, by_id);
    for (int64_t i = 1; i < n; i++)
        if (strcmp(preds[i].id, preds[i - 1].id) == 0)
            micl_fatal("%s:%lld: id \"%s\" repeats line %lld", path, (long long)preds[i].line,
                       preds[i].id, (long long)preds[i - 1].line);
    *n_out = n;
    return preds;
}

void predictions_normalise(char *s) {
    static const char *punct = ".,;:!?()[]\"'";
    char *b = s;
    while (*b && (isspace((unsigned char)*b) || strchr(punct, *b)))
        b++;
    size_t n = strlen(b);
    while (n > 0 && (isspace((unsigned char)b[n - 1]) || strchr(punct, b[n - 1])))
        n--;
    /* words separated by single spaces: every run of white space inside becomes one space */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)b[i])) {
            if (k > 0 && s[k - 1] != ' ') s[k++] = ' ';
            continue;
        }
        s[k++] = (unsigned char)b[i] < 0x80 ? (char)tolower((unsigned char)b[i]) : b[i];
    }
    s[k] = '\0';
}

/* The answer text of the query (last turn) of ep. */
static void query_answer(const episode_t *ep, const vocab_t *v, char *buf, size_t len) {
    int q = ep->n_turns - 1;
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < ep->answer_len[q]; i++) {
        int k = snprintf(buf + n, len - n, "%s%s", i ? " " : "",
                         v->words[ep->tokens[ep->answer_pos[q] + 1 + i]]);
        if (k < 0 || (size_t)k >= len - n) break;
        n += (size_t)k;
    }
}

int predictions_score(const config_t *cfg, const char *benchmark, const char *path,
                      int64_t episodes, const char *dataset, const benchmark_cells_t *cells,
                      const char *results_path) {
    if (!benchmark_find(benchmark))
        micl_fatal("unknown benchmark '%s' (valid: %s)", benchmark, benchmark_names());
    int64_t n_preds;
    prediction_t *preds = read_predictions(path, &n_preds);
    benchmark_input_t bs;
    benchmark_input_open(&bs, cfg, benchmark, dataset);
    const benchmark_t *b = bs.benchmark;
    benchmark_cells_t own;
    if (!cells) {
        benchmark_cells(b, NULL, 0, NULL, 0, &own);
        cells = &own;
    }
    benchmark_check_cells(&bs.src, cells->ways, cells->n_ways, cells->shots, cells->n_shots);
    results_t res;
    memset(&res, 0, sizeof res);
    res.config_text = cfg->text;
    snprintf(res.config_path, sizeof res.config_path, "%s", cfg->path);
    res.world_size = 1;
    run_result_t *out = results_add_run(&res);
    snprintf(out->name, sizeof out->name, "predictions");
    snprintf(out->checkpoint, sizeof out->checkpoint, "%s", path);
    episode_t *ep = micl_malloc(sizeof *ep);
    int64_t missing = 0;
    for (int i = 0; i < cells->n_ways; i++)
        for (int j = 0; j < cells->n_shots; j++) {
            int ways = cells->ways[i], shots = cells->shots[j];
            if (out->n_rows >= RESULTS_MAX_ROWS) micl_fatal("too many cells");
            eval_row_t *row = &out->rows[out->n_rows++];
            memset(row, 0, sizeof *row);
            snprintf(row->benchmark, sizeof row->benchmark, "%s", b->name);
            snprintf(row->dataset, sizeof row->dataset, "%s", bs.store.source);
            row->ways = b->family == FAMILY_CLASSIFY ? bs.vocab.n_real : ways;
            row->shots = shots;
            benchmark_chance_t ch;
            benchmark_cell_chance(&bs.src, cfg->seed, ways, shots, episodes, bs.vocab.n_real, &ch);
            row->chance_random = ch.random;
            row->chance_constant = ch.constant;
            snprintf(row->constant_answer, sizeof row->constant_answer, "%s", ch.constant_answer);
            int64_t n = benchmark_cell_episodes(&bs.src, episodes);
            row->episodes = n * b->variants;
            results_row_alloc_outcomes(row);
            row->episodes = 0;
            for (int64_t e = 0; e < n; e++)
                for (int var = 0; var < b->variants; var++) {
                    benchmark_episode(&bs.src, cfg->seed, ways, shots, e, n, var, ep);
                    char id[128], truth[256];
                    snprintf(id, sizeof id, "%s-w%d-s%d-e%06lld-v%d", b->name, ways, shots,
                             (long long)e, var);
                    query_answer(ep, &bs.vocab, truth, sizeof truth);
                    prediction_t key = {id, NULL, 0, 0};
                    prediction_t *p = bsearch(&key, preds, (size_t)n_preds, sizeof *preds, by_id);
                    int64_t at = row->episodes++;
                    row->episode_group[at] = benchmark_episode_group(b, e);
                    if (!p) {
                        missing++;
                        continue;
                    }
                    p->used = 1;
                    char got[1024];
                    snprintf(got, sizeof got, "%s", p->text);
                    predictions_normalise(got);
                    predictions_normalise(truth);
                    int ok = strcmp(got, truth) == 0;
                    row->episode_correct[at] = row->episode_exact[at] = (uint8_t)ok;
                }
            results_row_finish(row);
        }
    for (int64_t i = 0; i < n_preds; i++)
        if (!preds[i].used)
            micl_fatal("%s:%lld: id \"%s\" is not an episode of benchmark '%s' with %lld "
                       "episodes per cell (and the cells chosen)",
                       path, (long long)preds[i].line, preds[i].id, b->name, (long long)episodes);
    if (missing)
        micl_warn("%s: %lld episodes have no prediction (counted as wrong)", path,
                  (long long)missing);
    printf("%s: benchmark %s, %lld predictions scored\n", path, b->name, (long long)n_preds);
    results_print_table(&res, stdout);
    if (results_path) results_write(results_path, &res);
    for (int64_t i = 0; i < n_preds; i++) {
        free(preds[i].id);
        free(preds[i].text);
    }
    free(preds);
    free(ep);
    results_run_free(out);
    free(res.runs);
    benchmark_input_close(&bs);
    return 0;
}
