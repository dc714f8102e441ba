/* test_data_store.c - image store round trip (store_write / store_read), provenance lookup and
 * per-class indices (store_index_build). */
#define _XOPEN_SOURCE 700
#include "test_data_util.h"

static void check_same(const image_store_t *a, const image_store_t *b) {
    CHECK(a->n == b->n && a->h == b->h && a->w == b->w && a->n_classes == b->n_classes);
    CHECK(memcmp(a->pixels, b->pixels, (size_t)(a->n * a->h * a->w)) == 0);
    CHECK(memcmp(a->labels, b->labels, (size_t)a->n * sizeof *a->labels) == 0);
    CHECK(memcmp(a->split, b->split, (size_t)a->n) == 0);
    CHECK(memcmp(a->class_split, b->class_split, (size_t)a->n_classes) == 0);
    for (int c = 0; c < a->n_classes; c++)
        CHECK(strcmp(a->class_names[c], b->class_names[c]) == 0);
    CHECK(strcmp(a->source, b->source) == 0);
    CHECK(strcmp(a->provenance, b->provenance) == 0);
}

int main(void) {
    char *dir = tdu_tmpdir("data_store");
    char *path = tdu_path(dir, "s.h5");
    char *tmp = tdu_path(dir, "s.h5.tmp");

    image_store_t s, r;
    tdu_make_store(&s, 5, 6, 7, 9);
    store_write(path, &s);
    CHECK(tdu_exists(path) && !tdu_exists(tmp));
    store_read(path, &r);
    check_same(&s, &r);
    CHECK(strcmp(r.class_names[1], "\xe6\xb0\xb8") == 0); /* UTF-8 survives */

    char *prov = store_read_provenance(path);
    CHECK(prov && strcmp(prov, s.provenance) == 0);
    free(prov);
    char *none = tdu_path(dir, "none.h5");
    CHECK(store_read_provenance(none) == NULL);
    free(none);

    /* Indices: per split, grouped by class, ascending. */
    int64_t seen = 0;
    for (int sp = 0; sp < 3; sp++) {
        store_index_t ix;
        store_index_build(&r, sp, &ix);
        CHECK(ix.n_classes == 5 && ix.off[0] == 0);
        for (int c = 0; c < 5; c++) {
            int64_t want = sp == STORE_SPLIT_HELDOUT_CLASS ? (c == 4 ? 6 : 0) : (c == 4 ? 0 : 3);
            CHECK(ix.off[c + 1] - ix.off[c] == want);
            for (int64_t k = ix.off[c]; k < ix.off[c + 1]; k++) {
                CHECK(r.labels[ix.idx[k]] == c && r.split[ix.idx[k]] == sp);
                if (k > ix.off[c]) CHECK(ix.idx[k] > ix.idx[k - 1]);
            }
        }
        seen += ix.off[5];
        store_index_free(&ix);
    }
    CHECK(seen == r.n);

    /* Overwriting an existing store replaces it. */
    s.pixels[0] ^= 0xff;
    free(s.provenance);
    s.provenance = strdup("second version");
    store_write(path, &s);
    store_free(&r);
    store_read(path, &r);
    check_same(&s, &r);

    store_free(&r);
    store_free(&s);
    tdu_rm_rf(dir);
    free(path);
    free(tmp);
    free(dir);
    printf("test_data_store: ok\n");
    return 0;
}
