/* config_docs.c - docs/CONFIG.md, the reference of every config key (config_print_docs).
 *
 * Prints one Markdown table per section of the schema tables (config_schema.c) - key, type,
 * default, range, meaning - then the loader's cross-field rules (config_load.c), the sweep
 * semantics and an example. `config_check --docs` writes it; a test keeps docs/CONFIG.md
 * identical to this output, so a key documented here is a key the loader accepts.
 */
#include "config_internal.h"

#include <stdio.h>
#include <string.h>

static const char *kind_doc(config_kind_t k) {
    switch (k) {
    case CONFIG_K_INT:
    case CONFIG_K_INT64:
        return "int";
    case CONFIG_K_UINT64:
        return "int (64-bit)";
    case CONFIG_K_FLOAT:
        return "float";
    case CONFIG_K_STRING:
        return "string";
    case CONFIG_K_NAME:
        return "name";
    case CONFIG_K_FAMILY:
        return "string";
    case CONFIG_K_BOOL:
        return "bool";
    case CONFIG_K_INT_LIST:
        return "int array";
    case CONFIG_K_STR_LIST:
        return "string array";
    case CONFIG_K_INT_PAIR:
        return "[int, int]";
    case CONFIG_K_FLOAT_PAIR:
        return "[float, float]";
    case CONFIG_K_RUNS:
    case CONFIG_K_STAGES:
    case CONFIG_K_AXES:
        return "list of groups";
    }
    return "";
}

static void doc_default(FILE *out, const config_key_t *k) {
    switch (k->kind) {
    case CONFIG_K_INT:
    case CONFIG_K_INT64:
    case CONFIG_K_UINT64:
        fprintf(out, "`%.0f`", k->def);
        break;
    case CONFIG_K_FLOAT:
        fprintf(out, "`%g`", k->def);
        break;
    case CONFIG_K_BOOL:
        fprintf(out, "`%s`", k->def != 0 ? "true" : "false");
        break;
    case CONFIG_K_STRING:
    case CONFIG_K_NAME:
    case CONFIG_K_FAMILY:
        if (k->def_s)
            fprintf(out, "`\"%s\"`", k->def_s);
        else
            fprintf(out, "(required)");
        break;
    case CONFIG_K_INT_LIST:
        for (int i = 0; i < k->def_n; i++)
            fprintf(out, "%s%d%s", i ? ", " : "`[", k->def_ints[i], i + 1 < k->def_n ? "" : "]`");
        break;
    case CONFIG_K_STR_LIST:
        for (int i = 0; i < k->def_n; i++)
            fprintf(out, "%s`%s`", i ? "<br>" : "", k->def_strs[i]);
        break;
    case CONFIG_K_INT_PAIR:
        fprintf(out, "`[%.0f, %.0f]`", k->def, k->def2);
        break;
    case CONFIG_K_FLOAT_PAIR:
        fprintf(out, "`[%g, %g]`", k->def, k->def2);
        break;
    case CONFIG_K_RUNS:
    case CONFIG_K_STAGES:
        fprintf(out, "(required)");
        break;
    case CONFIG_K_AXES:
        fprintf(out, "(none)");
        break;
    }
}

static void doc_range(FILE *out, const config_key_t *k) {
    switch (k->kind) {
    case CONFIG_K_INT:
    case CONFIG_K_INT64:
    case CONFIG_K_INT_LIST:
    case CONFIG_K_INT_PAIR:
        if (k->max >= CONFIG_INT64_BIG)
            fprintf(out, ">= %.0f", k->min);
        else
            fprintf(out, "[%.0f, %.0f]", k->min, k->max);
        break;
    case CONFIG_K_UINT64:
        fprintf(out, ">= 0");
        break;
    case CONFIG_K_FLOAT:
    case CONFIG_K_FLOAT_PAIR:
        fprintf(out, "[%g, %g]", k->min, k->max);
        break;
    case CONFIG_K_STRING:
        fprintf(out, "< %zu chars", k->size);
        break;
    case CONFIG_K_NAME:
        fprintf(out, "1 to %zu chars", k->size - 1);
        break;
    case CONFIG_K_FAMILY:
        fprintf(out, "%s", config_valid_families);
        break;
    case CONFIG_K_BOOL:
        fprintf(out, "true, false");
        break;
    case CONFIG_K_STR_LIST:
    case CONFIG_K_RUNS:
    case CONFIG_K_STAGES:
    case CONFIG_K_AXES:
        fprintf(out, "%.0f to %.0f elements", k->min, k->max);
        break;
    }
}

static void doc_table(FILE *out, const config_table_t *t, const char *prefix) {
    char section[128] = "\x01";
    for (int i = 0; i < t->n; i++) {
        const config_key_t *k = &t->keys[i];
        const char *last = config_last_component(k->path);
        char sec[128];
        snprintf(sec, sizeof sec, "%s%.*s", prefix, (int)(last - k->path), k->path);
        if (strcmp(sec, section) != 0) {
            snprintf(section, sizeof section, "%s", sec);
            size_t n = strlen(sec);
            if (n && sec[n - 1] == '.') sec[n - 1] = '\0';
            fprintf(out, "\n## %s\n\n", sec[0] ? sec : "Top level");
            fprintf(out, "| key | type | default | range | meaning |\n");
            fprintf(out, "|---|---|---|---|---|\n");
        }
        fprintf(out, "| `%s%s` | %s | ", prefix, k->path, kind_doc(k->kind));
        doc_default(out, k);
        fprintf(out, " | ");
        doc_range(out, k);
        fprintf(out, " | %s |\n", k->doc);
    }
}

static const char g_doc_example[] =
    "name = \"quickstart\";\n"
    "seed = 1;\n"
    "output_dir = \"runs/quickstart\";\n"
    "model = { dim = 128; layers = 3; heads = 4; };\n"
    "train = { steps = 6000; lr = 2e-3; min_lr = 1e-4; };\n"
    "eval = { ways = [2, 5]; shots = [0, 1, 2, 4]; };\n"
    "runs = (\n"
    "  { name = \"baseline\"; stages = ( { name = \"single\"; family = \"classify\"; } ); },\n"
    "  { name = \"icl\"; stages = (\n"
    "      { name = \"align\"; family = \"classify\"; steps = 600; },\n"
    "      { name = \"bind\"; family = \"binding\"; ways = [2, 3]; items = 9; replay = 0.25;\n"
    "        exact_copy = [1.0, 0.0]; exact_copy_steps = 3000; advance_acc = 0.9;\n"
    "        min_steps = 1000; },\n"
    "      { name = \"bind5\"; family = \"binding\"; ways = [2, 5]; items = 21; }\n"
    "  ); }\n"
    ");\n";

static const char g_doc_sweep_example[] =
    "sweep = {\n"
    "  ranks_per_run = 1;\n"
    "  axes = ( { key = \"run\";       values = [\"baseline\", \"icl\"]; },\n"
    "           { key = \"seed\";      values = [1, 2, 3]; },\n"
    "           { key = \"model.dim\"; values = [64, 128]; } );\n"
    "};\n";

void config_print_docs(FILE *out) {
    fprintf(out,
            "# micl configuration reference\n\n"
            "<!-- Generated by `config_check --docs` from the schema in common/config_schema.c; "
            "do not edit by hand. -->\n\n"
            "A micl experiment is one libconfig file (`micl train CONFIG.cfg`). Every key "
            "except `runs` has a default, so a section or key left out takes the value "
            "below. An unknown key, a value of the wrong type or a value out of range is an "
            "error naming the file, line and key; a misspelt key gets a suggestion. Integer "
            "keys reject floats; float keys accept integers. Ranges are inclusive. "
            "Integers beyond 32 bits need the 64-bit suffix L (`seed = 5000000000L;`). "
            "libconfig arrays hold one type only: write `[1.0, 0.0]`, not `[1.0, 0]`.\n");
    doc_table(out, &config_table_top, "");
    fprintf(out, "\nEach element of `runs` is a group:\n");
    doc_table(out, &config_table_run, "runs[].");
    fprintf(out, "\nEach element of `stages` is a group. A stage runs until its `steps` are "
                 "done, or, once `min_steps` have passed, until the train ICL accuracy reaches "
                 "`advance_acc`. The last stage runs to `train.steps`.\n");
    doc_table(out, &config_table_stage, "runs[].stages[].");
    fprintf(out, "\n## Rules between keys\n\n");
    for (int i = 0; config_rule_doc(i); i++)
        fprintf(out, "- %s\n", config_rule_doc(i));
    fprintf(out, "- `runs` has 1 to %d runs; each run has 1 to %d stages.\n", CONFIG_MAX_RUNS,
            CONFIG_MAX_STAGES);
    fprintf(out, "- `eval.ways` and `eval.shots` are non-empty, sorted and without repeats.\n");
    fprintf(out, "- A stage's `ways` is `[min, max]` with min <= max.\n");
    fprintf(out, "\n## Sweeps\n\n"
                 "`micl sweep CONFIG.cfg` trains the product of the `sweep.axes`: every "
                 "combination of one value per axis is a run, numbered in order with the first "
                 "axis varying slowest. An axis `key` is `run` (values: names of `runs`; without "
                 "a `run` axis every run of the file is swept), `replay` (the replay share of "
                 "every stage of the run, in [0, 1]) or any number or string key above "
                 "(`seed`, `train.steps`, `model.dim`, `model.layers`, `train.lr`, ...), with "
                 "that key's type and range. Each run's resolved config (this file with the "
                 "axis values set, the one run kept and the sweep section removed) is checked "
                 "like a config file of its own. The example below ends with a sweep of 2 runs x "
                 "3 seeds x 2 widths (12 runs).\n");
    fprintf(out, "\n## Example\n\n```\n%s%s```\n", g_doc_example, g_doc_sweep_example);
}
