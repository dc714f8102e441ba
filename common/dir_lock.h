/* dir_lock.h - one owner per output folder.
 *
 * train, eval (when it writes its results into the config's output folder) and sweep take the
 * lock of the folder they write, "<dir>/.micl.lock", before any work, and hold it for the life
 * of the process: a second micl writing the same folder stops at once with exit 1 and a message
 * naming the holder ("out: in use by micl train (pid P on host H) since ..."). The lock is a
 * flock(2) on that file, so it dies with its process (kill -9, a node that is gone, a requeued
 * Slurm job): a file left behind is not a held lock, and the next process takes it over, saying
 * so. The file holds "pid host since command" of the holder for the message; a process that ends
 * normally (a refusal included) removes it, and the folder too if it made it and left it empty.
 *
 * The shards of one sweep share their folder: each takes the folder lock shared and the lock of
 * its shard, "<dir>/.micl.shard-I-of-N.lock", exclusive, so shards run side by side but not
 * beside a train or an unsharded sweep of the same folder, nor twice. Under MPI only rank 0
 * writes files and takes the lock. On a file system without flock (ENOLCK, EOPNOTSUPP) micl warns
 * and runs unlocked. */
#ifndef MICL_DIR_LOCK_H
#define MICL_DIR_LOCK_H

/* Takes the lock of `dir` (created if missing, as paths_make_dirs) for `command` ("micl train"),
 * exclusive, or shared plus the shard lock when shard_count > 1. Fatal (exit 1) when another
 * live process holds it. */
void dir_lock_take(const char *dir, const char *command, int shard_index, int shard_count);

#endif
