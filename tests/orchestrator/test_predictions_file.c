/* test_predictions_file.c - what the predictions reader (orchestrator/predictions_file.h)
 * accepts: a UTF-8 byte order mark on line 1, blank lines and CRLF line ends, members other than
 * "id" and "prediction" (any JSON), escapes decoded to UTF-8, a last line without a newline;
 * entries sorted by id with their lines, found by id. The refusals are the hostile corpus
 * (tests/hostile/hostile.cmake, hostile_pred_*) and the export test. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "orchestrator/predictions_file.h"

static int bad;

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            printf("FAIL line %d: %s\n", __LINE__, #x);                                            \
            bad++;                                                                                 \
        }                                                                                          \
    } while (0)

static void read_text(const char *text, int64_t max, predictions_file_t *p) {
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    predictions_file_read_stream(f, "mem.jsonl", max, p);
    fclose(f);
}

int main(void) {
    predictions_file_t p;
    read_text("\xEF\xBB\xBF{\"id\": \"b\", \"prediction\": \"x\"}\r\n"
              "\n   \t\r\n"
              "{\"ranked\": [1, {\"a\": null}], \"id\": \"a\", \"prediction\": \"\\u00e9\\t\"}\n"
              "{\"id\": \"c\", \"prediction\": \"\", \"n\": -1.5e3}",
              3, &p);
    CHECK(p.n == 3);
    CHECK(strcmp(p.items[0].id, "a") == 0 && p.items[0].line == 4);
    CHECK(strcmp(p.items[0].text, "\xc3\xa9\t") == 0);
    CHECK(strcmp(p.items[1].id, "b") == 0 && p.items[1].line == 1);
    CHECK(strcmp(p.items[1].text, "x") == 0);
    CHECK(strcmp(p.items[2].id, "c") == 0 && p.items[2].text[0] == '\0');
    predictions_file_entry_t *e = predictions_file_find(&p, "c");
    CHECK(e && e->line == 5);
    CHECK(predictions_file_find(&p, "d") == NULL);
    predictions_file_free(&p);
    CHECK(p.n == 0 && p.items == NULL);
    /* nesting up to the limit is fine */
    char deep[512];
    int k = snprintf(deep, sizeof deep, "{\"id\": \"a\", \"prediction\": \"x\", \"d\": ");
    for (int i = 1; i < PREDICTIONS_FILE_MAX_DEPTH; i++)
        deep[k++] = '[';
    for (int i = 1; i < PREDICTIONS_FILE_MAX_DEPTH; i++)
        deep[k++] = ']';
    snprintf(deep + k, sizeof deep - (size_t)k, "}\n");
    read_text(deep, 1, &p);
    CHECK(p.n == 1);
    predictions_file_free(&p);
    if (!bad) printf("predictions_file: ok\n");
    return bad != 0;
}
