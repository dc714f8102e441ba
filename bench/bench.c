/* bench.c - `micl bench NAME ...`: hands the command to its driver (see bench.h). */
#include "bench.h"

#include <string.h>

#include "bench_comm.h"
#include "bench_eval.h"
#include "bench_gemm.h"
#include "bench_scaling.h"
#include "bench_step.h"
#include "common/error.h"

static const char *const NAMES[] = {"step", "vs-torch", "eval", "gemm", "comm", "scaling"};

int bench_known(const char *name) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcmp(name, NAMES[i]) == 0) return 1;
    return 0;
}

int bench_main(int argc, char **argv, const comm_t *comm) {
    const char *name = argv[0];
    if (strcmp(name, "eval") == 0) return bench_eval_main(argc - 1, argv + 1, comm);
    if (strcmp(name, "gemm") == 0) return bench_gemm_main(argc, argv);
    if (strcmp(name, "comm") == 0) return bench_comm_main(argc, argv, comm);
    if (strcmp(name, "scaling") == 0) return bench_scaling_main(argc, argv);
    if (!bench_known(name)) micl_fatal("micl bench: no measurement '%s'", name);
    return bench_step_main(argc, argv, comm);
}
