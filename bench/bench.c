/* bench.c - `micl bench NAME ...`: hands the command to its driver (see bench.h). */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include "bench_comm.h"
#include "bench_eval.h"
#include "bench_gemm.h"
#include "bench_scaling.h"
#include "bench_step.h"
#include "common/error.h"

int bench_main(int argc, char **argv, const comm_t *comm) {
    const char *name = argc > 0 ? argv[0] : "";
    if (strcmp(name, "step") == 0 || strcmp(name, "vs-torch") == 0)
        return bench_step_main(argc, argv, comm);
    if (strcmp(name, "eval") == 0) return bench_eval_main(argc - 1, argv + 1, comm);
    if (strcmp(name, "gemm") == 0) return bench_gemm_main(argc, argv);
    if (strcmp(name, "comm") == 0) return bench_comm_main(argc, argv, comm);
    if (strcmp(name, "scaling") == 0) return bench_scaling_main(argc, argv);
    fprintf(stderr, "micl bench: %s '%s' (expected step, vs-torch, eval, gemm, comm or scaling)\n",
            argc > 0 ? "unknown measurement" : "missing measurement name", name);
    fprintf(stderr, "usage: micl bench step|vs-torch|eval|gemm|comm|scaling [options] "
                    "(bench/README.md)\n");
    return MICL_EXIT_USAGE;
}
