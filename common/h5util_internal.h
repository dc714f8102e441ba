/* h5util_internal.h - what h5util.c and h5check.c share: the failure of a checked call, which
 * names the file and the object, and two helpers both use. Nothing else includes it. */
#ifndef MICL_H5UTIL_INTERNAL_H
#define MICL_H5UTIL_INTERNAL_H

#include <errno.h>
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "h5check.h"

/* Fails with "<file>:<object>: <message><suffix>", as micl_fatal at the caller's file:line. */
__attribute__((format(printf, 5, 6), noreturn)) void
h5_fail_at(const char *src, int line, hid_t loc, const char *suffix, const char *fmt, ...);
/* ": <strerror(e)>" (or "") in a buffer of its own, for the failure that follows. */
const char *h5_errno_suffix(int e);

/* The suffix is taken before h5_fail_at runs: its calls clear libhdf5's error stack. */
#define H5FAIL(loc, ...) h5_fail_at(__FILE__, __LINE__, loc, h5_damage_words(), __VA_ARGS__)
/* For writers, which clear errno before the call: the system's reason is added. */
#define H5WFAIL(loc, ...) h5_fail_at(__FILE__, __LINE__, loc, h5_errno_suffix(errno), __VA_ARGS__)

/* The memory type of a variable-length UTF-8 string. */
hid_t h5_vlen_str_type(void);
/* Fails unless dataset d (n elements of `size` bytes; `name` for messages, at loc) stores data
 * in proportion to what it claims: reading it would otherwise allocate whatever a damaged
 * header claims. */
void h5_check_stored(hid_t loc, hid_t d, const char *name, int64_t n, size_t size);

#endif
