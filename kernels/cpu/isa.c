/* isa.c - which instruction-set build of the CPU kernels this process runs (kernels/backend.h:
 * kern_backend_cpu, kern_backend_cpu_isa, kern_backend_cpu_isas, kern_backend_cpu_choose).
 *
 * kernels/cpu/isa.cmake compiles the kernels once per instruction set the compiler can target
 * (always "scalar", the portable build; on x86-64 also "avx2" and "avx512") and defines
 * KERN_CPU_HAVE_AVX2 / KERN_CPU_HAVE_AVX512 for this file, which is compiled once, for the
 * baseline, so that it runs on any processor. It asks the processor (cpuid, and the operating
 * system's saved vector state, through the compiler's __builtin_cpu_supports) which builds can
 * run, and takes the best one unless MICL_ISA names another. All builds give the same bits
 * (tests/kernels/test_isa.c and tests/system/isa.cmake check it), so the choice is one of speed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"

extern const kern_backend_t kern_cpu_scalar_backend;
#ifdef KERN_CPU_HAVE_AVX2
extern const kern_backend_t kern_cpu_avx2_backend;
#endif
#ifdef KERN_CPU_HAVE_AVX512
extern const kern_backend_t kern_cpu_avx512_backend;
#endif

typedef struct {
    const char *name;
    const kern_backend_t *table; /* NULL: not built for this target */
    int (*runs_here)(void);
    const char *needs; /* what the processor must have, in words */
} isa_t;

static int always(void) {
    return 1;
}

#if defined(__x86_64__) || defined(__i386__)
/* The builds' compiler flags (isa.cmake) are exactly these features. */
static int has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void) {
    __builtin_cpu_init();
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#endif

/* Best last. */
static const isa_t ISAS[] = {
    {"scalar", &kern_cpu_scalar_backend, always, "nothing"},
#ifdef KERN_CPU_HAVE_AVX2
    {"avx2", &kern_cpu_avx2_backend, has_avx2, "AVX2 and FMA"},
#endif
#ifdef KERN_CPU_HAVE_AVX512
    {"avx512", &kern_cpu_avx512_backend, has_avx512, "AVX-512 F, BW, DQ and VL"},
#endif
};
enum { N_ISAS = sizeof ISAS / sizeof ISAS[0] };

static const isa_t *find(const char *name) {
    for (int i = 0; i < N_ISAS; i++)
        if (strcmp(ISAS[i].name, name) == 0) return &ISAS[i];
    return NULL;
}

const kern_backend_t *kern_backend_cpu_isa(const char *name) {
    const isa_t *isa = find(name);
    return isa && isa->runs_here() ? isa->table : NULL;
}

/* The names in ISAS order, those this processor runs. */
const char *kern_backend_cpu_isas(void) {
    static char list[64];
    if (!list[0])
        for (int i = 0; i < N_ISAS; i++)
            if (ISAS[i].runs_here()) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", used ? " " : "", ISAS[i].name);
            }
    return list;
}

static const kern_backend_t *chosen;

/* MICL_ISA, else the best build this processor runs. */
int kern_backend_cpu_choose(char *err, size_t errlen) {
    const char *want = getenv("MICL_ISA");
    if (!want || !want[0]) {
        for (int i = N_ISAS - 1; i >= 0 && !chosen; i--)
            if (ISAS[i].runs_here()) chosen = ISAS[i].table;
        return 0;
    }
    const isa_t *isa = find(want);
    if (!isa) {
        char all[64] = "";
        for (int i = 0; i < N_ISAS; i++)
            snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", i ? ", " : "",
                     ISAS[i].name);
        snprintf(err, errlen, "MICL_ISA=%s: not an instruction set of this build (%s)", want, all);
        return -1;
    }
    if (!isa->runs_here()) {
        snprintf(err, errlen, "MICL_ISA=%s: this processor lacks %s (it runs: %s)", want,
                 isa->needs, kern_backend_cpu_isas());
        return -1;
    }
    chosen = isa->table;
    return 0;
}

const kern_backend_t *kern_backend_cpu(void) {
    if (!chosen) {
        char err[256];
        if (kern_backend_cpu_choose(err, sizeof err) != 0) micl_fatal("%s", err);
    }
    return chosen;
}
