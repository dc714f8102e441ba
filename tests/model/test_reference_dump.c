/* test_reference_dump.c - runs a small random VLM forward + backward and writes everything an
 * independent implementation needs to recompute it: the config (attributes of /), the batch,
 * every parameter tensor (/params/<name>), the logits and loss, and every gradient
 * (/grads/<name>). tests/reference/vlm_ref.py reads the file and checks the numbers in float64
 * PyTorch (ctest reference_torch runs both). Usage: test_reference_dump OUT.h5
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "model/vlm.h"

enum { B = 3, T = 10, IMG = 1 };

static hid_t h5_checked(hid_t id, const char *what) {
    if (id < 0) micl_fatal("HDF5: %s failed", what);
    return id;
}

static void h5_ok(herr_t rc, const char *what) {
    if (rc < 0) micl_fatal("HDF5: %s failed", what);
}

static void write_attr_int(hid_t loc, const char *name, long long v) {
    hid_t sp = h5_checked(H5Screate(H5S_SCALAR), "H5Screate");
    hid_t a =
        h5_checked(H5Acreate2(loc, name, H5T_NATIVE_LLONG, sp, H5P_DEFAULT, H5P_DEFAULT), name);
    h5_ok(H5Awrite(a, H5T_NATIVE_LLONG, &v), name);
    h5_ok(H5Aclose(a), "H5Aclose");
    h5_ok(H5Sclose(sp), "H5Sclose");
}

static void write_attr_double(hid_t loc, const char *name, double v) {
    hid_t sp = h5_checked(H5Screate(H5S_SCALAR), "H5Screate");
    hid_t a =
        h5_checked(H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT), name);
    h5_ok(H5Awrite(a, H5T_NATIVE_DOUBLE, &v), name);
    h5_ok(H5Aclose(a), "H5Aclose");
    h5_ok(H5Sclose(sp), "H5Sclose");
}

/* A dataset of rank ndim (0 = scalar) and the given memory/file types. */
static void write_dataset(hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                          const void *data, int ndim, const int *shape) {
    hsize_t dims[4];
    for (int i = 0; i < ndim; i++)
        dims[i] = (hsize_t)shape[i];
    hid_t sp = h5_checked(ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, dims, NULL),
                          "H5Screate");
    hid_t d = h5_checked(
        H5Dcreate2(loc, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
    h5_ok(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
    h5_ok(H5Dclose(d), "H5Dclose");
    h5_ok(H5Sclose(sp), "H5Sclose");
}

static void write_tensors(hid_t file, const char *group, vlm_t *m, const float *base) {
    hid_t g = h5_checked(H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), group);
    for (int i = 0; i < vlm_num_tensors(m); i++) {
        const vlm_tensor_t *t = vlm_tensor(m, i);
        write_dataset(g, t->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, base + t->offset, t->ndim,
                      t->shape);
    }
    h5_ok(H5Gclose(g), "H5Gclose");
}

static void write_config(hid_t f, const vlm_config_t *c, double scale, long long nt, int n_img) {
    write_attr_int(f, "image_size", c->image_size);
    write_attr_int(f, "patch", c->patch);
    write_attr_int(f, "enc_dim", c->enc_dim);
    write_attr_int(f, "enc_layers", c->enc_layers);
    write_attr_int(f, "enc_heads", c->enc_heads);
    write_attr_int(f, "dim", c->dim);
    write_attr_int(f, "layers", c->layers);
    write_attr_int(f, "heads", c->heads);
    write_attr_int(f, "mlp_ratio", c->mlp_ratio);
    write_attr_int(f, "vocab", c->vocab);
    write_attr_int(f, "max_seq", c->max_seq);
    write_attr_int(f, "pool", c->pool);
    write_attr_int(f, "channels", c->channels);
    write_attr_int(f, "smear_keys", c->smear_keys);
    write_attr_int(f, "image_token", IMG);
    write_attr_int(f, "n_images", n_img);
    write_attr_int(f, "n_targets", nt);
    write_attr_double(f, "grad_scale", scale);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_reference_dump OUT.h5 [flatten|mean|rgb|smear]\n");
        return 2;
    }
    /* rgb: flatten pooling over 3-channel images */
    vlm_config_t c = {12, 4, 16, 2, 2, 24, 2, 2, 4, 50, 12, 0.2f, VLM_POOL_FLATTEN, 1, 0};
    if (argc == 3 && strcmp(argv[2], "mean") == 0) c.pool = VLM_POOL_MEAN;
    if (argc == 3 && strcmp(argv[2], "rgb") == 0) c.channels = 3;
    if (argc == 3 && strcmp(argv[2], "smear") == 0) c.smear_keys = 1;
    char err[256];
    vlm_t *m = vlm_create(&c, B * T, 16, err, sizeof err);
    if (!m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(m, 42);
    /* non-zero biases and LN parameters so that every term of the model is exercised */
    float *p = vlm_params(m);
    for (int i = 0; i < vlm_num_tensors(m); i++) {
        const vlm_tensor_t *t = vlm_tensor(m, i);
        if (t->ndim == 1)
            for (size_t j = 0; j < t->size; j++)
                p[t->offset + j] += 0.1f * (float)((j * 7) % 5) - 0.2f;
    }
    int32_t tok[B * T], tgt[B * T];
    int n_img = 0;
    for (int i = 0; i < B * T; i++) {
        int t = i % T;
        tok[i] = t == 0 ? 2 : ((t * 3 + i / T) % 4 == 1 ? IMG : 3 + (i * 17) % 47);
        n_img += tok[i] == IMG;
        tgt[i] = (i % 3 == 2) ? -1 : (i * 11 + 5) % c.vocab;
    }
    size_t S2 = (size_t)c.image_size * c.image_size * (size_t)c.channels;
    uint8_t *px = micl_malloc(S2 * (size_t)n_img);
    for (size_t i = 0; i < S2 * (size_t)n_img; i++)
        px[i] = (uint8_t)((i * 2654435761u) >> 13);
    vlm_batch_t batch = {B, T, tok, tgt, n_img, px, IMG};
    int64_t nt;
    vlm_zero_grads(m);
    double loss = vlm_forward(m, &batch, &nt);
    float *logits = micl_malloc(sizeof(float) * (size_t)nt * c.vocab);
    memcpy(logits, vlm_logits(m), sizeof(float) * (size_t)nt * c.vocab);
    float scale = 1.0f / (float)nt;
    vlm_backward(m, scale);
    float *img_emb = micl_malloc(sizeof(float) * (size_t)n_img * c.dim);
    vlm_encode_images(m, px, n_img, img_emb);

    hid_t f = h5_checked(H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), argv[1]);
    write_config(f, &c, scale, (long long)nt, n_img);
    hid_t g = h5_checked(H5Gcreate2(f, "batch", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "batch");
    int bt[2] = {B, T}, pxs[4] = {n_img, c.image_size, c.image_size, c.channels};
    write_dataset(g, "tokens", H5T_STD_I32LE, H5T_NATIVE_INT32, tok, 2, bt);
    write_dataset(g, "targets", H5T_STD_I32LE, H5T_NATIVE_INT32, tgt, 2, bt);
    write_dataset(g, "pixels", H5T_STD_U8LE, H5T_NATIVE_UINT8, px, c.channels == 1 ? 3 : 4, pxs);
    h5_ok(H5Gclose(g), "H5Gclose");
    g = h5_checked(H5Gcreate2(f, "out", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "out");
    int ls[2] = {(int)nt, c.vocab}, es[2] = {n_img, c.dim};
    write_dataset(g, "logits", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, logits, 2, ls);
    write_dataset(g, "loss_sum", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &loss, 0, NULL);
    write_dataset(g, "image_embeddings", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, img_emb, 2, es);
    h5_ok(H5Gclose(g), "H5Gclose");
    write_tensors(f, "params", m, vlm_params(m));
    write_tensors(f, "grads", m, vlm_grads(m));
    h5_ok(H5Fclose(f), "H5Fclose");
    printf("wrote %s: %d tensors, %lld targets, %d images, loss_sum %.6f\n", argv[1],
           vlm_num_tensors(m), (long long)nt, n_img, loss);
    free(px), free(logits), free(img_emb);
    vlm_free(m);
    return 0;
}
