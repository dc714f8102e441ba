/* export.c - LLaVA-style conversations and PNG images of episodes (see export.h). */
#define _POSIX_C_SOURCE 200809L
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/paths.h"
#include "pngio.h"

void export_open(exporter_t *x, const char *dir) {
    memset(x, 0, sizeof *x);
    if (strlen(dir) > sizeof x->dir - 32) micl_fatal("export directory name too long: %s", dir);
    snprintf(x->dir, sizeof x->dir, "%s", dir);
    char images[600];
    snprintf(images, sizeof images, "%s/images", dir);
    paths_make_dirs(dir, "export directory");
    paths_make_dirs(images, "export directory");
    char json_path[600];
    snprintf(json_path, sizeof json_path, "%s/data.json", dir);
    x->json = atomic_file_open(&x->json_file, json_path, "w");
    json_out_list_begin(&x->samples, x->json, x->json_file.tmp, NULL, NULL, " ");
}

static int is_marker(const vocab_t *v, int32_t tok) {
    return tok == v->bos || tok == v->user || tok == v->assistant || tok == v->eot || tok == v->pad;
}

/* The human value of turn t: one "<image>" line per image, then the question words. */
static void human_value(const episode_t *ep, const vocab_t *v, int t, char *buf, size_t len) {
    int start = t == 0 ? 1 : ep->answer_pos[t - 1] + 1 + ep->answer_len[t - 1];
    size_t n = 0;
    buf[0] = '\0';
    int words = 0;
    for (int p = start; p <= ep->answer_pos[t] && p < ep->n_tokens; p++) {
        int32_t tok = ep->tokens[p];
        if (is_marker(v, tok)) continue;
        const char *w = tok == v->image ? "<image>" : v->words[tok];
        const char *sep = tok == v->image ? (n ? "\n" : "") : (words ? " " : (n ? "\n" : ""));
        int k = snprintf(buf + n, len - n, "%s%s", sep, w);
        if (k < 0 || (size_t)k >= len - n) micl_fatal("an exported turn is too long");
        n += (size_t)k;
        words += tok != v->image;
    }
}

static void answer_value(const episode_t *ep, const vocab_t *v, int t, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < ep->answer_len[t]; i++) {
        int32_t tok = ep->tokens[ep->answer_pos[t] + 1 + i];
        int k = snprintf(buf + n, len - n, "%s%s", i ? " " : "", v->words[tok]);
        if (k < 0 || (size_t)k >= len - n) micl_fatal("an exported answer is too long");
        n += (size_t)k;
    }
}

static void write_images(exporter_t *x, const char *id, const episode_t *ep,
                         const image_store_t *store) {
    size_t npix = store_image_bytes(store);
    for (int i = 0; i < ep->n_images; i++) {
        if (ep->images[i] < 0 || ep->images[i] >= store->n)
            micl_fatal("%s: image %lld is not in the store", id, (long long)ep->images[i]);
        char path[1200];
        snprintf(path, sizeof path, "%s/images/%s-%d.png", x->dir, id, i);
        pngio_write(path, store->pixels + (size_t)ep->images[i] * npix, store->h, store->w,
                    store->c, NULL);
    }
}

void export_episode(exporter_t *x, const char *id, const episode_t *ep, const image_store_t *store,
                    const vocab_t *v, const export_meta_t *meta) {
    write_images(x, id, ep, store);
    json_t *sample = json_out_object(), *images = json_out_array(), *turns = json_out_array();
    json_out_set_string(sample, "id", id);
    for (int i = 0; i < ep->n_images; i++) {
        char rel[600];
        snprintf(rel, sizeof rel, "images/%s-%d.png", id, i);
        json_out_append(images, json_out_string(rel));
    }
    json_out_set(sample, "image", images);
    char buf[2048];
    for (int t = 0; t < ep->n_turns; t++) {
        json_t *human = json_out_object(), *gpt = json_out_object();
        human_value(ep, v, t, buf, sizeof buf);
        json_out_set_string(human, "from", "human");
        json_out_set_string(human, "value", buf);
        json_out_append(turns, human);
        answer_value(ep, v, t, buf, sizeof buf);
        json_out_set_string(gpt, "from", "gpt");
        json_out_set_string(gpt, "value", buf);
        json_out_append(turns, gpt);
    }
    json_out_set(sample, "conversations", turns);
    if (meta) {
        json_t *cands = json_out_array();
        json_out_set_string(sample, "benchmark", meta->benchmark);
        json_out_set_int(sample, "ways", meta->ways);
        json_out_set_int(sample, "shots", meta->shots);
        json_out_set_int(sample, "episode", meta->episode);
        json_out_set_int(sample, "variant", meta->variant);
        answer_value(ep, v, ep->n_turns - 1, buf, sizeof buf);
        json_out_set_string(sample, "answer", buf);
        for (int c = 0; c < ep->n_candidates; c++)
            json_out_append(cands, json_out_string(v->words[ep->candidates[c]]));
        json_out_set(sample, "candidates", cands);
    }
    json_out_list_add(&x->samples, sample);
    x->n_samples++;
}

void export_close(exporter_t *x) {
    json_out_list_end(&x->samples);
    x->json = NULL;
    atomic_file_commit(&x->json_file);
}
