/* sweep_report.h - `micl report` over a sweep results file: one row per run with its axis
 * values, or grouped by one or more axes with the mean and spread of every evaluation cell over
 * the runs of each group (the other axes: seeds, sizes, ...). Table, CSV or JSON.
 */
#ifndef MICL_SWEEP_REPORT_H
#define MICL_SWEEP_REPORT_H

#include <stdio.h>

#include "results.h"

typedef enum { SWEEP_REPORT_TABLE, SWEEP_REPORT_CSV, SWEEP_REPORT_JSON } sweep_report_format_t;

/* group_by: NULL for one row per run, else comma-separated axis keys ("run", "run,model.dim").
 * An unknown axis is fatal, naming the file's axes. */
void sweep_report_print(const results_t *r, const char *path, const char *group_by,
                        sweep_report_format_t format, FILE *out);

#endif
