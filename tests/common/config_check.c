/* config_check.c - test driver for common/config_*.c.
 *
 * `config_check FILE` loads and validates FILE (exit 0 and a one-line summary, or micl_fatal's
 * message and exit 1); `config_check --docs` prints the generated docs/CONFIG.md.
 */
#include "common/config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: config_check FILE.cfg | --docs\n");
        return 2;
    }
    if (strcmp(argv[1], "--docs") == 0) {
        config_print_docs(stdout);
        return 0;
    }
    config_t cfg;
    config_load(argv[1], &cfg);
    printf("ok: %s: %d runs\n", cfg.name, cfg.n_runs);
    config_free(&cfg);
    return 0;
}
