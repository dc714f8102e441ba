/* test_data_store.c - image store round trip (store_write / store_read), provenance lookup and
 * per-class indices (store_index_build). */
#define _XOPEN_SOURCE 700
#include <hdf5.h>

#include "test_data_util.h"

/* Reads the root attribute schema_version of a store. */
static int schema_of(const char *path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    int v = 0;
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_INT, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

/* Turns s into a colour store with object and operand metadata; image i has i % 4 objects,
 * object k of image i = (k, i % 7, k & 1, k, i % h). */
static void make_colour(image_store_t *s, int max_objects) {
    size_t nb = (size_t)s->n * (size_t)s->h * (size_t)s->w * 3;
    free(s->pixels);
    s->pixels = malloc(nb);
    CHECK(s->pixels);
    for (size_t j = 0; j < nb; j++)
        s->pixels[j] = (uint8_t)(j * 13 + 5);
    s->c = 3;
    s->max_objects = max_objects;
    s->n_objects = malloc((size_t)s->n * sizeof(int16_t));
    s->objects = malloc((size_t)s->n * max_objects * STORE_OBJECT_FIELDS * sizeof(int16_t));
    s->operands = malloc((size_t)s->n * 2 * sizeof(int16_t));
    CHECK(s->n_objects && s->objects && s->operands);
    for (int64_t i = 0; i < s->n; i++) {
        s->n_objects[i] = (int16_t)(i % 4 < max_objects ? i % 4 : max_objects);
        s->operands[2 * i] = (int16_t)(i % 10);
        s->operands[2 * i + 1] = (int16_t)(i % 3);
        for (int k = 0; k < max_objects; k++) {
            int16_t *o = s->objects + ((size_t)i * max_objects + k) * STORE_OBJECT_FIELDS;
            int here = k < s->n_objects[i];
            int16_t v[STORE_OBJECT_FIELDS] = {(int16_t)k, (int16_t)(i % 7), (int16_t)(k & 1),
                                              (int16_t)k, (int16_t)(i % s->h)};
            for (int f = 0; f < STORE_OBJECT_FIELDS; f++)
                o[f] = here ? v[f] : -1;
        }
    }
}

static void check_same(const image_store_t *a, const image_store_t *b) {
    CHECK(a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c &&
          a->n_classes == b->n_classes);
    CHECK(memcmp(a->pixels, b->pixels, (size_t)a->n * store_image_bytes(a)) == 0);
    CHECK((a->objects == NULL) == (b->objects == NULL) && a->max_objects == b->max_objects);
    if (a->objects) {
        CHECK(memcmp(a->n_objects, b->n_objects, (size_t)a->n * sizeof(int16_t)) == 0);
        CHECK(memcmp(a->objects, b->objects,
                     (size_t)a->n * a->max_objects * STORE_OBJECT_FIELDS * sizeof(int16_t)) == 0);
    }
    CHECK((a->operands == NULL) == (b->operands == NULL));
    if (a->operands)
        CHECK(memcmp(a->operands, b->operands, (size_t)a->n * 2 * sizeof(int16_t)) == 0);
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

    /* A gray store without metadata keeps the schema-1 layout. */
    CHECK(schema_of(path) == STORE_SCHEMA_GRAY && r.c == 1 && !r.objects && !r.operands);

    /* Colour and metadata: schema 2, [n, h, w, 3] images, objects read back per image. */
    make_colour(&s, 4);
    store_write(path, &s);
    store_free(&r);
    store_read(path, &r);
    check_same(&s, &r);
    CHECK(schema_of(path) == STORE_SCHEMA_VERSION && r.c == 3 && store_image_bytes(&r) == (size_t)7 * 9 * 3);
    int16_t objs[STORE_MAX_OBJECTS * STORE_OBJECT_FIELDS];
    for (int64_t i = 0; i < r.n; i++) {
        int no = store_objects(&r, i, objs);
        CHECK(no == (int)(i % 4));
        for (int k = 0; k < no; k++)
            CHECK(objs[k * STORE_OBJECT_FIELDS + STORE_OBJ_SHAPE] == k &&
                  objs[k * STORE_OBJECT_FIELDS + STORE_OBJ_COLOUR] == i % 7 &&
                  objs[k * STORE_OBJECT_FIELDS + STORE_OBJ_Y] == i % 7);
    }

    store_free(&r);
    store_free(&s);
    tdu_rm_rf(dir);
    free(path);
    free(tmp);
    free(dir);
    printf("test_data_store: ok\n");
    return 0;
}
