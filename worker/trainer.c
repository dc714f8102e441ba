/* trainer.c - the training loop of one run (see trainer.h). Read top to bottom: curriculum,
 * step building, packing this rank's micro-batches, the optimizer step (step.c: forward,
 * backward, reduction over train.reduce, AdamW), train ICL accuracy, progress, checkpoints. */
#define _POSIX_C_SOURCE 200809L
#include "trainer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/signals.h"
#include "data/family.h"
#include "sampler.h"
#include "step.h"

/* Counts of one micro-batch's answers, gathered over the ranks every step. */
enum { STAT_ICL_OK, STAT_ICL_N, STAT_COPY_OK, STAT_COPY_N, N_STATS };

/* The buffers of one micro-batch's batch, and its logits for the ICL counts (room for a target
 * at every token of the capacity). */
typedef struct {
    int32_t *tok, *tgt;
    uint8_t *pix;
    float *logits;
} micro_buffers_t;

typedef struct {
    const trainer_args_t *a;
    vlm_t *m;
    sampler_t sm; /* the step's sequences */
    episode_t *eps;
    int max_tokens, max_images; /* per micro-batch */
    step_t step;
    step_micro_t *mb;     /* [micro_batches]: this rank's are packed */
    micro_buffers_t *buf; /* [micro_batches] */
    /* the step being computed */
    int n_seqs, n_micro, mb_lo, mb_hi;
    int64_t step_targets;
    double *mb_stats, *all_stats; /* [micro_batches x N_STATS]: this rank's, all */
} trainer_t;

/* ---- curriculum ---------------------------------------------------------------------- */

static const stage_config_t *stage_of(const trainer_args_t *a, const train_state_t *st) {
    return &a->run->stages[st->stage];
}

/* Moves to the next stage when this one has run its steps or reached its accuracy. */
static void curriculum_advance(const trainer_args_t *a, train_state_t *st, int64_t step,
                               run_result_t *out) {
    if (st->stage + 1 >= a->run->n_stages) return;
    const stage_config_t *s = stage_of(a, st);
    int by_steps = s->steps > 0 && st->stage_step >= s->steps;
    int by_acc =
        s->advance_acc > 0 && st->stage_step >= s->min_steps && st->stage_acc >= s->advance_acc;
    if (!by_steps && !by_acc) return;
    micl_info("[%s] step %lld: stage '%s' done (%s, train ICL acc %.3f) -> stage '%s'",
              a->run->name, (long long)step, s->name, by_acc ? "accuracy reached" : "steps done",
              st->stage_acc, a->run->stages[st->stage + 1].name);
    st->stage++;
    st->stage_step = 0;
    st->stage_acc = 0;
    if (out->n_stages < 16) out->stage_start[out->n_stages++] = step;
}

static double learning_rate(const train_config_t *t, int64_t step) {
    if (step < t->warmup) return t->lr * (double)(step + 1) / (double)t->warmup;
    double span = (double)(t->steps - t->warmup);
    double p = span > 0 ? (double)(step - t->warmup) / span : 1.0;
    if (p > 1) p = 1;
    return t->min_lr + 0.5 * (t->lr - t->min_lr) * (1.0 + cos(3.14159265358979323846 * p));
}

step_args_t trainer_step_args(const train_config_t *tc, int64_t step, int64_t step_targets,
                              double *tensor_norms) {
    step_args_t a = {
        .lr = (float)learning_rate(tc, step),
        .beta1 = tc->beta1,
        .beta2 = tc->beta2,
        .eps = tc->eps,
        .weight_decay = tc->weight_decay,
        .grad_clip = tc->grad_clip,
        .loss_scale = step_targets > 0 ? 1.0f / (float)step_targets : 0.0f,
        .tensor_norms = tensor_norms,
    };
    return a;
}

/* ---- building a step ------------------------------------------------------------------ */

static void build_step(trainer_t *t, const train_state_t *st, int64_t step) {
    t->n_seqs = sampler_step(&t->sm, st->stage, step, st->stage_step, t->eps);
    t->n_micro = t->a->cfg->train.micro_batches;
    t->step_targets = 0;
    for (int j = 0; j < t->n_seqs; j++)
        for (int p = 0; p < t->eps[j].n_tokens; p++)
            t->step_targets += t->eps[j].targets[p] >= 0;
}

static void micro_range(const trainer_t *t, int i, int *lo, int *hi) {
    *lo = (int)((int64_t)t->n_seqs * i / t->n_micro);
    *hi = (int)((int64_t)t->n_seqs * (i + 1) / t->n_micro);
}

/* Channels of the model's images. */
static int model_channels(const trainer_t *t) {
    int c = vlm_config(t->m)->channels;
    return c > 0 ? c : 1;
}

/* Copies image `id` (a glyph row, or a scene / operator row past its base) to dst in the
 * model's channels. */
static void gather_image(const trainer_t *t, int64_t id, uint8_t *dst) {
    int64_t row;
    const image_store_t *st = sampler_image(&t->sm, id, &row);
    store_copy_image(st, row, model_channels(t), dst);
}

/* Packs episodes [lo, hi) into a padded batch in micro-batch i's buffers. */
static void pack_batch(trainer_t *t, int i, episode_t *eps, int lo, int hi, vlm_batch_t *b) {
    micro_buffers_t *mbuf = &t->buf[i];
    const vocab_t *v = t->a->vocab;
    const image_store_t *st = t->a->store;
    int T = 1;
    for (int j = lo; j < hi; j++)
        T = eps[j].n_tokens > T ? eps[j].n_tokens : T;
    int B = hi - lo;
    if ((int64_t)B * T > t->max_tokens)
        micl_fatal("batch of %d x %d tokens exceeds capacity", B, T);
    size_t npix = (size_t)st->h * (size_t)st->w * (size_t)model_channels(t);
    int n_img = 0;
    for (int j = lo; j < hi; j++) {
        episode_t *ep = &eps[j];
        int32_t *tk = mbuf->tok + (size_t)(j - lo) * T;
        int32_t *tg = mbuf->tgt + (size_t)(j - lo) * T;
        for (int p = 0; p < T; p++) {
            tk[p] = p < ep->n_tokens ? ep->tokens[p] : v->pad;
            tg[p] = p < ep->n_tokens ? ep->targets[p] : -1;
        }
        for (int k = 0; k < ep->n_images; k++, n_img++) {
            if (n_img >= t->max_images) micl_fatal("batch exceeds image capacity");
            gather_image(t, ep->images[k], mbuf->pix + (size_t)n_img * npix);
        }
    }
    b->B = B;
    b->T = T;
    b->tokens = mbuf->tok;
    b->targets = mbuf->tgt;
    b->n_images = n_img;
    b->pixels = mbuf->pix;
    b->image_token = v->image;
}

/* Counts binding and multiple-choice answers of a repeated class whose best-scoring candidate
 * is right: st[STAT_ICL_*] for a new instance of the class (the train ICL accuracy that drives
 * the curriculum), st[STAT_COPY_*] for an exact copy of an earlier image. Logits have one row
 * per target, answer tokens in order. */
static void count_icl(const float *logits, int vocab, const episode_t *eps, int lo, int hi,
                      double *st) {
    int64_t row = 0;
    for (int j = lo; j < hi; j++) {
        const episode_t *ep = &eps[j];
        for (int k = 0; k < ep->n_turns; k++) {
            if (!ep->answer_scored[k]) continue;
            const float *l = logits + (size_t)row * vocab;
            row += ep->answer_len[k];
            int icl = ep->family == FAMILY_BINDING || ep->family == FAMILY_MC;
            if (!icl || ep->n_candidates == 0 || ep->answer_shots[k] <= 0) continue;
            int best = ep->candidates[0];
            for (int c = 1; c < ep->n_candidates; c++)
                if (l[ep->candidates[c]] > l[best]) best = ep->candidates[c];
            int exact = ep->answer_exact[k];
            st[exact ? STAT_COPY_OK : STAT_ICL_OK] += best == ep->answer_id[k];
            st[exact ? STAT_COPY_N : STAT_ICL_N] += 1;
        }
    }
}

/* Adds what step's sequences train on to the run's statistics: real tokens, images, scored
 * answers, answer tokens with a target, and their FLOPs (vlm_train_flops). */
static void count_step(const trainer_t *t, run_result_t *out) {
    int64_t tokens = 0, images = 0, answers = 0, targets = 0, pairs = 0;
    for (int j = 0; j < t->n_seqs; j++) {
        const episode_t *ep = &t->eps[j];
        tokens += ep->n_tokens;
        images += ep->n_images;
        pairs += (int64_t)ep->n_tokens * (ep->n_tokens + 1) / 2;
        for (int k = 0; k < ep->n_turns; k++)
            answers += ep->answer_scored[k] != 0;
    }
    targets = t->step_targets;
    out->tokens += tokens;
    out->images += images;
    out->answers += answers;
    out->targets += targets;
    out->flops += vlm_train_flops(vlm_config(t->m), tokens, pairs, images);
}

/* ---- this rank's micro-batches ---------------------------------------------------------- */

/* Packs this rank's micro-batches of the step. */
static void pack_micro_batches(trainer_t *t) {
    for (int i = t->mb_lo; i < t->mb_hi; i++) {
        int lo, hi;
        micro_range(t, i, &lo, &hi);
        pack_batch(t, i, t->eps, lo, hi, &t->mb[i].batch);
    }
}

/* The ICL answer counts of every micro-batch of the step (all ranks), summed in index order. */
static void icl_counts(trainer_t *t, double *sum) {
    int vocab = vlm_config(t->step.model[0])->vocab;
    for (int i = t->mb_lo; i < t->mb_hi; i++) {
        int lo, hi;
        micro_range(t, i, &lo, &hi);
        double *st = t->mb_stats + (size_t)(i - t->mb_lo) * N_STATS;
        memset(st, 0, N_STATS * sizeof(double));
        count_icl(t->mb[i].logits, vocab, t->eps, lo, hi, st);
    }
    comm_allgather_blocks_f64(t->a->comm, t->n_micro, t->mb_stats, t->all_stats, N_STATS);
    for (int k = 0; k < N_STATS; k++)
        sum[k] = 0;
    for (int i = 0; i < t->n_micro; i++)
        for (int k = 0; k < N_STATS; k++)
            sum[k] += t->all_stats[(size_t)i * N_STATS + k];
}

/* ---- setup ------------------------------------------------------------------------------ */

void trainer_capacity(const config_t *cfg, const run_config_t *run, const vocab_t *v,
                      episode_format_t format, int *max_tokens, int *max_images) {
    int seqs;
    sampler_capacity(cfg, run, v, format, &seqs, max_tokens, max_images);
}

static void trainer_init(trainer_t *t, const trainer_args_t *a, vlm_t *m) {
    memset(t, 0, sizeof *t);
    t->a = a;
    t->m = m;
    sampler_init(&t->sm, a->cfg, a->run, a->store, a->scenes, a->operators, a->vocab, a->format);
    int seqs;
    sampler_capacity(a->cfg, a->run, a->vocab, a->format, &seqs, &t->max_tokens, &t->max_images);
    t->eps = micl_malloc((size_t)t->sm.max_seqs * sizeof(episode_t));
    int M = a->cfg->train.micro_batches;
    step_init(&t->step, m, a->comm, M, a->cfg->train.adapt_threads);
    char team[160];
    team_describe(&t->step.team, team, sizeof team);
    micl_info("[%s] thread team: %s", a->run->name, team);
    /* train.reduce: the fixed tree (the same bits for any rank count) or the library's
     * all-reduce (comm_tree.h) */
    comm_tree_set_reduce(&t->step.tree, strcmp(a->cfg->train.reduce, "allreduce") == 0
                                            ? COMM_REDUCE_ALLREDUCE
                                            : COMM_REDUCE_TREE);
    t->n_micro = M;
    step_micro_range(&t->step, &t->mb_lo, &t->mb_hi);
    t->mb = micl_calloc((size_t)M, sizeof(step_micro_t));
    t->buf = micl_calloc((size_t)M, sizeof(micro_buffers_t));
    for (int i = t->mb_lo; i < t->mb_hi; i++) {
        t->buf[i].tok = micl_malloc((size_t)t->max_tokens * sizeof(int32_t));
        t->buf[i].tgt = micl_malloc((size_t)t->max_tokens * sizeof(int32_t));
        t->buf[i].pix = micl_malloc((size_t)t->max_images * (size_t)a->store->h *
                                    (size_t)a->store->w * (size_t)model_channels(t));
        t->buf[i].logits =
            micl_malloc((size_t)t->max_tokens * (size_t)vlm_config(m)->vocab * sizeof(float));
        t->mb[i].logits = t->buf[i].logits;
    }
    t->mb_stats = micl_calloc((size_t)M * N_STATS, sizeof(double));
    t->all_stats = micl_calloc((size_t)M * N_STATS, sizeof(double));
}

static void trainer_free(trainer_t *t) {
    sampler_free(&t->sm);
    free(t->eps);
    for (int i = 0; i < t->n_micro; i++) {
        free(t->buf[i].tok);
        free(t->buf[i].tgt);
        free(t->buf[i].pix);
        free(t->buf[i].logits);
    }
    free(t->buf);
    free(t->mb);
    step_free(&t->step);
    free(t->mb_stats);
    free(t->all_stats);
}

static void format_eta(double s, char *buf, size_t len) {
    if (s < 0 || !isfinite(s)) s = 0;
    int h = (int)(s / 3600), mi = (int)(fmod(s, 3600) / 60), se = (int)fmod(s, 60);
    if (h > 0)
        snprintf(buf, len, "%dh%02dm", h, mi);
    else
        snprintf(buf, len, "%dm%02ds", mi, se);
}

/* ---- gradient statistics ---------------------------------------------------------------- */

/* Names the curve's per-tensor columns; returns 0 when a resumed curve has points without them
 * (a checkpoint from before per-tensor statistics), which then stay off for the run. */
static int tensor_stats_begin(const vlm_t *m, curve_t *c) {
    int k = vlm_num_tensors(m);
    if (c->n_tensors == k) return 1;
    if (c->n > 0) return 0;
    const char **names = micl_malloc((size_t)k * sizeof(char *));
    for (int i = 0; i < k; i++)
        names[i] = vlm_tensor(m, i)->name;
    curve_set_tensors(c, k, names);
    free(names);
    return 1;
}

/* ---- the loop --------------------------------------------------------------------------- */

/* Test hook: raises SIGINT once for every entry of the comma-separated list equal to step. */
static void raise_sigint_at(const char *list, int64_t step) {
    for (const char *p = list; *p; p++) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end != p && v == step) raise(SIGINT);
        p = end;
        if (!*p) break;
    }
}

void trainer_run(const trainer_args_t *a, vlm_t *m, train_state_t *st, run_result_t *out) {
    const config_t *cfg = a->cfg;
    const train_config_t *tc = &cfg->train;
    trainer_t t;
    trainer_init(&t, a, m);
    size_t n = vlm_num_params(m);
    if (out->n_stages == 0) out->stage_start[out->n_stages++] = st->step;
    checkpoint_state_device(st); /* its checkpoints say what trained it */

    /* MICL_TEST_NAN_AT_STEP=N makes step N's loss NaN: the tests use it to exercise the
     * non-finite-loss path, which no valid config reaches on purpose. */
    const char *inject = getenv("MICL_TEST_NAN_AT_STEP");
    int64_t inject_nan_step = inject ? atoll(inject) : -1;
    /* MICL_TEST_SIGTERM_AT_STEP=N: rank 0 sends itself SIGTERM after step N, so the tests
     * exercise the preemption path at a known step. */
    const char *inject_term = getenv("MICL_TEST_SIGTERM_AT_STEP");
    int64_t sigterm_step = inject_term ? atoll(inject_term) : -1;
    /* MICL_TEST_SIGINT_AT_STEP=N (or N,N: twice, as an impatient user) does the same with
     * SIGINT, once per time N is listed. */
    const char *inject_int = getenv("MICL_TEST_SIGINT_AT_STEP");
    double t0 = clock_now_s(), t_log = t0, t_saved = t0, tok_acc = 0, copy_ok = 0, copy_n = 0;
    double team_acc = 0; /* threads summed over the logged steps (worker/team.h) */
    int64_t start_step = st->step, tokens_run = 0;
    int tstats = tensor_stats_begin(m, &out->curve);
    double *tnorm = micl_calloc((size_t)vlm_num_tensors(m), sizeof(double));
    while (st->step < tc->steps) {
        int64_t step = st->step;
        build_step(&t, st, step);
        pack_micro_batches(&t);
        int logs = (step + 1) % tc->log_every == 0 || step + 1 == tc->steps;
        double lr = learning_rate(tc, step);
        step_args_t sa = trainer_step_args(tc, step, t.step_targets, tstats && logs ? tnorm : NULL);
        step_result_t r;
        step_run(&t.step, t.mb, &sa, step, &r);
        double loss = r.loss, gnorm = r.grad_norm;
        if (inject_nan_step >= 0 && step == inject_nan_step) loss = NAN; /* test hook */
        if (!r.updated || !isfinite(loss))
            micl_fatal(
                "run '%s' step %lld: the loss became non-finite (loss %g, gradient norm %g); "
                "lower train.lr (now %g) or check the data",
                a->run->name, (long long)step, loss, gnorm, tc->lr);
        double sum[N_STATS], step_tokens = 0;
        icl_counts(&t, sum);
        for (int j = 0; j < t.n_seqs; j++)
            step_tokens += t.eps[j].n_tokens;

        if (sum[STAT_ICL_N] > 0) {
            double acc = sum[STAT_ICL_OK] / sum[STAT_ICL_N];
            st->stage_acc = st->stage_step == 0 ? acc : 0.95 * st->stage_acc + 0.05 * acc;
        }
        st->step++;
        st->stage_step++;
        st->log_loss += loss;
        st->log_steps++;
        tok_acc += step_tokens;
        team_acc += r.threads;
        copy_ok += sum[STAT_COPY_OK];
        copy_n += sum[STAT_COPY_N];
        tokens_run += (int64_t)step_tokens;
        count_step(&t, out);

        if (st->step % tc->log_every == 0 || st->step == tc->steps) {
            double now = clock_now_s(), dt = now - t_log;
            double tps = dt > 0 ? tok_acc / dt : 0;
            double eta =
                (double)(tc->steps - st->step) * (now - t0) / (double)(st->step - start_step);
            char eta_s[32];
            format_eta(eta, eta_s, sizeof eta_s);
            char copy_s[32] = "";
            if (copy_n > 0) snprintf(copy_s, sizeof copy_s, " (copies %.3f)", copy_ok / copy_n);
            micl_info("[%s] step %6lld/%lld  %-8s loss %.4f  icl-acc %.3f%s  lr %.2e  gnorm %.3f  "
                      "%6.0f tok/s  %5.1f ms/step  %.3g thr  ETA %s",
                      a->run->name, (long long)st->step, (long long)tc->steps,
                      stage_of(a, st)->name, st->log_loss / (double)st->log_steps, st->stage_acc,
                      copy_s, lr, gnorm, tps, 1e3 * dt / (double)st->log_steps,
                      team_acc / (double)st->log_steps, eta_s);
            curve_push(&out->curve, st->step, st->stage, st->log_loss / (double)st->log_steps, lr,
                       gnorm, tps, st->stage_acc);
            if (tstats) curve_push_tensor_norms(&out->curve, tnorm);
            t_log = now;
            tok_acc = copy_ok = copy_n = team_acc = 0;
            st->log_loss = 0;
            st->log_steps = 0;
        }
        curriculum_advance(a, st, st->step, out);
        if (a->comm->rank == 0 && st->step - 1 == sigterm_step) raise(SIGTERM);
        if (a->comm->rank == 0 && inject_int) raise_sigint_at(inject_int, st->step - 1);
        if (a->on_step) a->on_step(a->on_step_ctx, st->step);
        int stop = comm_any(a->comm, signals_stop_requested()) && st->step < tc->steps;
        int periodic = tc->checkpoint_every > 0 && st->step % tc->checkpoint_every == 0;
        if (a->checkpoint_path && (periodic || stop)) {
            double now = clock_now_s();
            out->train_seconds += now - t_saved;
            t_saved = now;
            out->steps = st->step;
            if (a->comm->rank == 0)
                checkpoint_write(a->checkpoint_path, m, a->vocab, st, cfg->text, out);
        }
        if (stop) {
            micl_info("[%s] stop requested: checkpoint at step %lld written to %s", a->run->name,
                      (long long)st->step, a->checkpoint_path ? a->checkpoint_path : "(none)");
            out->preempted = 1;
            break;
        }
    }
    double now = clock_now_s();
    out->train_seconds += now - t_saved;
    out->steps = st->step;
    out->tokens_per_s = now > t0 ? (double)tokens_run / (now - t0) : 0;
    out->n_params = (int64_t)n;
    if (a->checkpoint_path && a->comm->rank == 0 && !out->preempted)
        checkpoint_write(a->checkpoint_path, m, a->vocab, st, cfg->text, out);
    micl_info("[%s] trained on %lld tokens, %lld images, %lld answers, %lld answer tokens, "
              "%.3g FLOPs (%lld steps)",
              a->run->name, (long long)out->tokens, (long long)out->images, (long long)out->answers,
              (long long)out->targets, out->flops, (long long)out->steps);
    free(tnorm);
    trainer_free(&t);
}
