/* main.c - the micl command line: parses the subcommand and hands over to the orchestrator. */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "micl: usage: micl <data|train|eval|report> ...\n");
    return 2;
}
