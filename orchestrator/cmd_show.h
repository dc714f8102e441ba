/* cmd_show.h - `micl data show`: one episode of a task family drawn as a PNG picture.
 *
 *   micl data show STORE.h5|CFG --task T -o EPISODE.png [--kind K] [--ways N] [--shots K]
 *                  [--items L] [--seed S] [--index I] [--format compact|chat]
 *
 * With CFG: the config's glyph store and vocabulary (fake_names, seed, question), episode seed
 * = the config's seed. With STORE.h5: a vocabulary of 32 fake names from seed 1, episode seed
 * 1. The episode is rng_make(seed, RNG_STREAM_EVAL_EPISODE for binding-eval, else
 * RNG_STREAM_TRAIN_EPISODE, index), so the same arguments always draw the same picture.
 */
#ifndef MICL_CMD_SHOW_H
#define MICL_CMD_SHOW_H

#include "common/cli_args.h"

extern const cli_command_t CLI_DATA_SHOW;

/* argv[0] is STORE.h5 or CFG (after "data show"); returns the process exit code. */
int cmd_data_show(int argc, char **argv);

#endif
