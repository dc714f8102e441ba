/* test_checkpoint_vocab.c - checkpoints keep the model's channels and the vocabulary's task-word
 * section and question ids (worker/checkpoint.c). (A checkpoint from before either existed is
 * upgraded by scripts/micl_upgrade.py and loads: tests/system/format.cmake.) */
#define _XOPEN_SOURCE 700
#include "test_data_util.h"

#include "worker/checkpoint.h"

/* A tiny RGB model over v, written and read back. */
static void round_trip(const char *dir, const image_store_t *s) {
    vocab_t v, r;
    vocab_build(&v, s, 8, 3, "what is this ?");
    vlm_config_t c = {8, 4, 8, 1, 1, 8, 1, 1, 1, v.n, 16, 0.02f, VLM_POOL_FLATTEN, 3, 1};
    char err[256];
    vlm_t *m = vlm_create(&c, 16, 2, err, sizeof err);
    CHECK(m);
    vlm_init_params(m, 1);
    train_state_t st = {0}, st2;
    snprintf(st.run, sizeof st.run, "rgb");
    char *path = tdu_path(dir, "rgb.ckpt.h5");
    checkpoint_write(path, m, &v, &st, "", NULL);
    vlm_t *m2 = checkpoint_read(path, 16, 2, &r, &st2, NULL);
    CHECK(vlm_config(m2)->channels == 3 && vlm_config(m2)->smear_keys == 1);
    CHECK(vlm_num_params(m2) == vlm_num_params(m));
    CHECK(!memcmp(vlm_params(m2), vlm_params(m), vlm_num_params(m) * sizeof(float)));
    CHECK(r.n == v.n && r.first_task == v.first_task && r.n_task == v.n_task);
    CHECK(r.n_question == 4 && !memcmp(r.question, v.question, 4 * sizeof(int)));
    CHECK(r.question[0] == vocab_task_id(&r, "what") && !strcmp(r.words[r.question[3]], "?"));
    CHECK(r.first_real == v.first_real && r.n_real == v.n_real && r.first_fake == v.first_fake);
    for (int i = 0; i < v.n; i++)
        CHECK(!strcmp(r.words[i], v.words[i]));
    vlm_free(m);
    vlm_free(m2);
    vocab_free(&v);
    vocab_free(&r);
    free(path);
    printf("round trip (RGB model, task words, question ids): ok\n");
}

int main(void) {
    char *dir = tdu_tmpdir("ckpt_vocab");
    image_store_t s;
    tdu_make_store(&s, 4, 4, 8, 8);
    round_trip(dir, &s);
    store_free(&s);
    tdu_rm_rf(dir);
    free(dir);
    printf("test_checkpoint_vocab: ok\n");
    return 0;
}
