/* h5check.h - the integrity of the HDF5 files micl writes: every check that lets a reader refuse
 * a damaged file or one in an older format before it trusts a byte. The writers and readers of
 * h5util.h call them; stores, results and checkpoints call some directly.
 */
#ifndef MICL_H5CHECK_H
#define MICL_H5CHECK_H

#include <hdf5.h>
#include <stdint.h>

/* Fails clearly when a global heap collection (where variable-length strings live) in the file
 * at path is inconsistent: libhdf5 1.10 hangs or reads out of bounds on such files, so readers
 * check before the library parses. Called by h5_open_ro. */
void h5_check_heaps(const char *path);
/* The same check without failing: 0 (and *bad_offset, if given) when a collection is damaged,
 * 1 otherwise or when the file cannot be read (the caller's open reports that). */
int h5_heaps_ok(const char *path, uint64_t *bad_offset);
/* The version of the file's HDF5 superblock, read before libhdf5 parses the file (-1: no HDF5
 * signature or unreadable). micl writes the HDF5 1.10 format (superblock version 3), whose
 * metadata carries checksums; h5_format_ok says whether a file is in it, h5_check_format fails
 * clearly for an HDF5 file in an older format. */
int h5_superblock_version(const char *path);
int h5_format_ok(const char *path);
void h5_check_format(const char *path);
/* " (damaged: a checksum does not match ...)" when the last failed libhdf5 call found a
 * checksum mismatch (metadata or a dataset's Fletcher32), else "": for failure messages. */
const char *h5_damage_words(void);
/* Variable-length strings carry no checksum in HDF5: h5_seal_strings stores the CRC-32 of the
 * object's (a text dataset's string and its string attributes) in its attribute strings_crc32;
 * h5_check_strings fails clearly unless they match. The writers and readers of h5util.h call them.
 */
void h5_seal_strings(hid_t obj);
void h5_check_strings(hid_t obj);
/* 1 if dataset d carries the Fletcher32 checksum filter (every non-empty dataset of numbers
 * micl writes does; readers refuse one that does not). */
int h5_has_checksum(hid_t d);
/* Fails unless every object of the open file is stored as micl stores them: version-2 object
 * headers (checksummed), attributes and links inside them (no fractal heaps, whose damaged forms
 * libhdf5 1.10 handles badly), hard links only, no cycle. Reads headers only; h5_open_ro calls
 * it before a reader touches anything. */
void h5_check_structure(hid_t f);
/* h5_check_structure, then every object's strings (h5_check_strings) and every dataset's data
 * (libhdf5 verifies the checksums as it reads): for readers that load only part of a file but
 * must not take a damaged one. */
void h5_verify_all(hid_t f);

#endif
