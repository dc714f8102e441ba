/* test_data_fmnist.c - the Fashion-MNIST store from the Debian package's files: sizes, splits,
 * balanced labels, class names, a store round trip. Exits 77 (skipped) when the files are not
 * installed (package dataset-fashion-mnist). */
#define _XOPEN_SOURCE 700
#include "data/sources.h"
#include "test_data_util.h"

static const char *const k_dir = "/usr/share/datasets/fashion-mnist";

int main(void) {
    char *probe = tdu_path(k_dir, "t10k-labels-idx1-ubyte.gz");
    if (!tdu_exists(probe)) {
        printf("%s not installed; skipping\n", k_dir);
        return 77;
    }
    free(probe);
    image_store_t s, r;
    fashion_mnist_build(k_dir, &s);
    CHECK(s.n == 70000 && s.h == 28 && s.w == 28 && s.n_classes == 10);
    CHECK(strcmp(s.class_names[0], "t-shirt") == 0 && strcmp(s.class_names[9], "ankle-boot") == 0);
    int64_t per[2][10] = {{0}};
    for (int64_t i = 0; i < s.n; i++) {
        CHECK(s.split[i] == (i < 60000 ? STORE_SPLIT_TRAIN : STORE_SPLIT_TEST));
        per[s.split[i]][s.labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
        CHECK(per[0][c] == 6000 && per[1][c] == 1000);
    double mean = 0;
    for (int64_t i = 0; i < 60000 * 784; i++)
        mean += s.pixels[i];
    mean /= 60000.0 * 784;
    CHECK(mean > 72.9 && mean < 73.0);
    CHECK(strstr(s.provenance, "train-images-idx3-ubyte.gz"));

    char *dir = tdu_tmpdir("data_fmnist");
    char *path = tdu_path(dir, "fashion_mnist.h5");
    store_write(path, &s);
    store_read(path, &r);
    CHECK(r.n == s.n && memcmp(r.pixels, s.pixels, (size_t)s.n * 784) == 0);
    CHECK(memcmp(r.labels, s.labels, (size_t)s.n * 4) == 0);
    CHECK(strcmp(r.source, "fashion-mnist") == 0);
    store_free(&r);
    store_free(&s);
    tdu_rm_rf(dir);
    free(path);
    free(dir);
    printf("test_data_fmnist: ok\n");
    return 0;
}
