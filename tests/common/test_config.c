/* test_config.c - loads a complete config file and checks every section's values, the defaults
 * of keys left out, stage defaults that depend on the family, and that the text and path are
 * kept. Rejected inputs are tested by config.cmake through config_check.
 */
#define _POSIX_C_SOURCE 200809L
#include "common/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)
#define CHECK_F(a, b) CHECK(fabs((double)(a) - (double)(b)) <= 1e-6 * fabs((double)(b)) + 1e-12)

static const char g_full[] =
    "name = \"full-test\";\n"
    "seed = 5000000000L;\n"
    "output_dir = \"out/full\";\n"
    "fake_names = 64;\n"
    "question = \"what is this\";\n"
    "data = {\n"
    "  fashion_mnist_dir = \"fm\";\n"
    "  cache_dir = \"cache\";\n"
    "  glyphs = {\n"
    "    size = 32; train_classes = 100; heldout_classes = 50; instances = 6;\n"
    "    heldout_instances = 1; fonts = [ \"a.ttf\", \"b.otf\" ];\n"
    "    rotate_deg = 4; scale_jitter = 0.2; shift_px = 1.0; stroke_px = -0.25; seed = 9;\n"
    "  };\n"
    "};\n"
    "model = { image_size = 32; patch = 8; enc_dim = 96; enc_layers = 2; enc_heads = 3;\n"
    "  dim = 192; layers = 4; heads = 6; mlp_ratio = 2; max_seq = 128; init_std = 0.01; };\n"
    "train = { steps = 1000; items_per_step = 64; micro_batches = 2; lr = 1e-3; min_lr = 1e-5;\n"
    "  warmup = 10; beta1 = 0.8; beta2 = 0.95; eps = 1e-6; weight_decay = 0.1;\n"
    "  grad_clip = 0; log_every = 5; checkpoint_every = 500; threads = 2; };\n"
    "eval = { episodes = 20; ways = [2, 3, 5]; shots = [0, 1]; zeroshot_images = 0; };\n"
    "runs = (\n"
    "  { name = \"baseline\"; stages = ( { name = \"single\"; family = \"classify\"; } ); },\n"
    "  { name = \"icl\"; stages = (\n"
    "      { name = \"align\"; family = \"classify\"; steps = 600; },\n"
    "      { name = \"bind\"; family = \"binding\"; ways = [2, 3]; items = 9; replay = 0.5;\n"
    "        exact_copy = [1.0, 0.0]; exact_copy_steps = 3000; advance_acc = 0.9;\n"
    "        min_steps = 100; steps = 0; },\n"
    "      { family = \"binding\"; ways = [2, 5]; items = 21; }\n"
    "  ); }\n"
    ");\n";

static void check_full(const config_t *c) {
    CHECK(strcmp(c->name, "full-test") == 0);
    CHECK(c->seed == 5000000000ULL);
    CHECK(strcmp(c->output_dir, "out/full") == 0);
    CHECK(c->fake_names == 64);
    CHECK(strcmp(c->question, "what is this") == 0);
    CHECK(strcmp(c->data.fashion_mnist_dir, "fm") == 0);
    CHECK(strcmp(c->data.cache_dir, "cache") == 0);
    CHECK(c->data.glyph_size == 32 && c->data.glyph_train_classes == 100);
    CHECK(c->data.glyph_heldout_classes == 50 && c->data.glyph_instances == 6);
    CHECK(c->data.glyph_heldout_instances == 1);
    CHECK(c->data.n_fonts == 2 && strcmp(c->data.fonts[1], "b.otf") == 0);
    CHECK_F(c->data.glyph_rotate_deg, 4.0);
    CHECK_F(c->data.glyph_scale_jitter, 0.2);
    CHECK_F(c->data.glyph_shift_px, 1.0);
    CHECK_F(c->data.glyph_stroke_px, -0.25);
    CHECK(c->data.glyph_seed == 9);
    const model_config_t *m = &c->model;
    CHECK(m->image_size == 32 && m->patch == 8 && m->enc_dim == 96 && m->enc_layers == 2);
    CHECK(m->enc_heads == 3 && m->dim == 192 && m->layers == 4 && m->heads == 6);
    CHECK(m->mlp_ratio == 2 && m->max_seq == 128);
    CHECK_F(m->init_std, 0.01);
    const train_config_t *t = &c->train;
    CHECK(t->steps == 1000 && t->items_per_step == 64 && t->micro_batches == 2);
    CHECK_F(t->lr, 1e-3);
    CHECK_F(t->min_lr, 1e-5);
    CHECK(t->warmup == 10);
    CHECK_F(t->beta1, 0.8);
    CHECK_F(t->beta2, 0.95);
    CHECK_F(t->eps, 1e-6);
    CHECK_F(t->weight_decay, 0.1);
    CHECK_F(t->grad_clip, 0.0);
    CHECK(t->log_every == 5 && t->checkpoint_every == 500 && t->threads == 2);
    CHECK(c->eval.episodes == 20 && c->eval.zeroshot_images == 0);
    CHECK(c->eval.n_ways == 3 && c->eval.ways[2] == 5);
    CHECK(c->eval.n_shots == 2 && c->eval.shots[1] == 1);
}

static void check_runs(const config_t *c) {
    CHECK(c->n_runs == 2);
    CHECK(strcmp(c->runs[0].name, "baseline") == 0 && c->runs[0].n_stages == 1);
    const stage_config_t *single = &c->runs[0].stages[0];
    CHECK(single->family == FAMILY_CLASSIFY && single->items == 1);
    const run_config_t *icl = &c->runs[1];
    CHECK(strcmp(icl->name, "icl") == 0 && icl->n_stages == 3);
    CHECK(icl->stages[0].steps == 600 && icl->stages[0].items == 1);
    const stage_config_t *b = &icl->stages[1];
    CHECK(strcmp(b->name, "bind") == 0 && b->family == FAMILY_BINDING);
    CHECK(b->ways_min == 2 && b->ways_max == 3 && b->items == 9);
    CHECK_F(b->replay, 0.5);
    CHECK_F(b->exact_copy_start, 1.0);
    CHECK_F(b->exact_copy_end, 0.0);
    CHECK(b->exact_copy_steps == 3000 && b->min_steps == 100 && b->steps == 0);
    CHECK_F(b->advance_acc, 0.9);
    const stage_config_t *b5 = &icl->stages[2];
    CHECK(strcmp(b5->name, "stage3") == 0); /* default name */
    CHECK(b5->ways_min == 2 && b5->ways_max == 5 && b5->items == 21);
    CHECK_F(b5->replay, 0.25);
    CHECK(b5->exact_copy_steps == 0 && b5->advance_acc == 0.0f);
}

static void check_defaults(const config_t *c) {
    CHECK(strcmp(c->name, "quickstart") == 0 && c->seed == 1);
    CHECK(strcmp(c->output_dir, "runs/quickstart") == 0 && c->fake_names == 32);
    CHECK(c->question[0] == '\0');
    CHECK(strcmp(c->data.fashion_mnist_dir, "/usr/share/datasets/fashion-mnist") == 0);
    CHECK(strcmp(c->data.cache_dir, "data/cache") == 0);
    CHECK(c->data.glyph_size == 28 && c->data.glyph_train_classes == 1280);
    CHECK(c->data.glyph_heldout_classes == 320 && c->data.glyph_instances == 10);
    CHECK(c->data.glyph_heldout_instances == 2 && c->data.n_fonts == 7);
    CHECK(strcmp(c->data.fonts[6], "/usr/share/fonts/opentype/unifont/unifont.otf") == 0);
    CHECK_F(c->data.glyph_rotate_deg, 8.0);
    CHECK_F(c->data.glyph_stroke_px, 0.5);
    CHECK(c->data.glyph_seed == 7);
    CHECK(c->model.image_size == 28 && c->model.patch == 7 && c->model.enc_dim == 64);
    CHECK(c->model.dim == 128 && c->model.layers == 3 && c->model.heads == 4);
    CHECK(c->model.max_seq == 64);
    CHECK_F(c->model.init_std, 0.02);
    CHECK(c->train.steps == 6000 && c->train.items_per_step == 288);
    CHECK(c->train.micro_batches == 4 && c->train.warmup == 100);
    CHECK_F(c->train.lr, 2e-3);
    CHECK_F(c->train.min_lr, 1e-4);
    CHECK_F(c->train.beta2, 0.98);
    CHECK_F(c->train.eps, 1e-8);
    CHECK(c->train.log_every == 100 && c->train.checkpoint_every == 0 && c->train.threads == 0);
    CHECK(c->eval.episodes == 500 && c->eval.zeroshot_images == 1000);
    CHECK(c->eval.n_ways == 2 && c->eval.ways[0] == 2 && c->eval.ways[1] == 5);
    CHECK(c->eval.n_shots == 4 && c->eval.shots[3] == 4);
}

static void test_full_file(void) {
    const char *path = "test_config_full.cfg";
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(g_full, f);
    fclose(f);
    config_t c;
    config_load(path, &c);
    CHECK(strcmp(c.path, path) == 0);
    CHECK(c.text && strcmp(c.text, g_full) == 0);
    check_full(&c);
    check_runs(&c);
    config_free(&c);
    CHECK(c.text == NULL);
    remove(path);
}

static void test_minimal(void) {
    config_t c;
    config_load_string("runs = ( { name = \"r\"; stages = ( {} ); } );\n", "minimal", &c);
    check_defaults(&c);
    CHECK(strcmp(c.path, "minimal") == 0);
    const stage_config_t *s = &c.runs[0].stages[0];
    CHECK(strcmp(s->name, "stage1") == 0 && s->family == FAMILY_BINDING);
    CHECK(s->ways_min == 2 && s->ways_max == 3 && s->items == 9 && s->steps == 0);
    CHECK_F(s->replay, 0.25);
    CHECK(s->exact_copy_start == 0.0f && s->exact_copy_end == 0.0f);
    config_free(&c);

    config_t d;
    config_defaults(&d);
    check_defaults(&d);
    CHECK(d.n_runs == 0 && d.text == NULL);
}

static void test_numbers(void) {
    /* float keys accept integers; an explicit classify items count is kept */
    config_t c;
    config_load_string("train = { lr = 1; min_lr = 0; };\n"
                       "runs = ( { name = \"r\"; stages = ( { family = \"classify\"; items = 4; "
                       "ways = [1, 1]; } ); } );\n",
                       "numbers", &c);
    CHECK_F(c.train.lr, 1.0);
    CHECK(c.runs[0].stages[0].items == 4 && c.runs[0].stages[0].ways_max == 1);
    config_free(&c);
}

int main(void) {
    test_full_file();
    test_minimal();
    test_numbers();
    if (g_failures) {
        fprintf(stderr, "%d checks failed\n", g_failures);
        return 1;
    }
    printf("config: all checks passed\n");
    return 0;
}
