/* fuzz_config.c - libFuzzer target for the configuration loader (common/config_load.c).
 *
 * The input is the text of a .cfg file: it goes through config_load_string, the path that
 * config_load takes after reading the file (inputs with a NUL byte are skipped, as config_load
 * rejects them before parsing). A rejected config would leave libconfig's parse tree behind:
 * the target is linked with -Wl,--wrap=config_init,--wrap=config_destroy (tests/fuzz/fuzz.cmake),
 * the wrappers remember the live libconfig object and the fatal hook destroys it before jumping,
 * while the loader's frame that holds it still exists. Seeds: tests/fuzz/corpus/config/.
 */
#include "fuzz_harness.h"

#include <libconfig.h>

/* libconfig's config_t; micl's is included below as config_t as well. */
typedef config_t lc_config_t;
#define config_t micl_config_t
#include "common/config.h"
#undef config_t

void __real_config_init(lc_config_t *c);
void __real_config_destroy(lc_config_t *c);
void __wrap_config_init(lc_config_t *c);
void __wrap_config_destroy(lc_config_t *c);

static lc_config_t *g_live;

void __wrap_config_init(lc_config_t *c) {
    __real_config_init(c);
    g_live = c;
}

void __wrap_config_destroy(lc_config_t *c) {
    if (c == g_live) g_live = NULL;
    __real_config_destroy(c);
}

static void destroy_live(void) {
    if (g_live) __wrap_config_destroy(g_live);
}

static micl_config_t g_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(NULL);
    g_fuzz_before_jump = destroy_live;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memchr(data, 0, size)) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        config_free(&g_cfg); /* the copy of the text made before parsing */
        free(text);
        return 0;
    }
    config_load_string(text, "fuzz.cfg", &g_cfg);
    g_fuzz_armed = 0;
    config_free(&g_cfg);
    free(text);
    return 0;
}
