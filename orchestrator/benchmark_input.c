/* benchmark_input.c - opening a benchmark's store and vocabulary (see benchmark_input.h). */
#define _POSIX_C_SOURCE 200809L
#include "benchmark_input.h"

#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/sources.h"

void benchmark_input_store_path(const config_t *cfg, const benchmark_t *b, const char *dataset,
                                char *buf, size_t len) {
    if (dataset)
        snprintf(buf, len, "%s", dataset);
    else
        data_benchmark_store_path(cfg, b->store, buf, (int)len);
    if (access(buf, R_OK) != 0)
        micl_fatal("benchmark '%s' needs the store %s, which is missing; run 'micl data prepare "
                   "%s' first",
                   b->name, buf, cfg->path);
}

void benchmark_input_open(benchmark_input_t *bs, const config_t *cfg, const char *name,
                          const char *dataset) {
    memset(bs, 0, sizeof *bs);
    bs->benchmark = benchmark_find(name);
    if (!bs->benchmark) micl_fatal("unknown benchmark '%s' (valid: %s)", name, benchmark_names());
    char gpath[1024], path[1024];
    data_glyph_store_path(cfg, gpath, sizeof gpath);
    if (access(gpath, R_OK) != 0)
        micl_fatal("%s: the glyph store %s is missing; run 'micl data prepare %s' first", cfg->path,
                   gpath, cfg->path);
    benchmark_input_store_path(cfg, bs->benchmark, dataset, path, sizeof path);
    /* the vocabulary is the config's: built from the glyph store's training classes */
    atomic_file_input(gpath, "the image store"); /* no output of this command replaces them */
    atomic_file_input(path, "the image store");
    image_store_t glyphs;
    store_read(gpath, &glyphs);
    vocab_build(&bs->vocab, &glyphs, cfg->fake_names, cfg->seed, cfg->question);
    store_free(&glyphs);
    store_read(path, &bs->store);
    vocab_map_store(&bs->vocab, &bs->store);
    benchmark_source_init(&bs->src, bs->benchmark, &bs->store, &bs->vocab, EPISODE_FORMAT_COMPACT);
    int need = 1;
    for (int i = 0; i < bs->benchmark->n_ways; i++)
        need = bs->benchmark->ways[i] > need ? bs->benchmark->ways[i] : need;
    if (!bs->src.is_scene && bs->benchmark->family != FAMILY_CLASSIFY &&
        benchmark_source_size(&bs->src) < need)
        micl_fatal("%s: benchmark '%s' needs %d classes with images; the store has %lld", path,
                   name, need, (long long)benchmark_source_size(&bs->src));
}

void benchmark_input_close(benchmark_input_t *bs) {
    benchmark_source_free(&bs->src);
    store_free(&bs->store);
    vocab_free(&bs->vocab);
    memset(bs, 0, sizeof *bs);
}
