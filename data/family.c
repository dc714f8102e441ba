/* family.c - the family registry (see family.h): the descriptor of every row of
 * CONFIG_FAMILIES, in family_t order. Nothing here knows a particular family.
 */
#include "family.h"

#include <string.h>

#include "common/error.h"

#define FAMILY_ROW(id, name, store, doc) [FAMILY_##id] = &family_##name,
static const family_info_t *const g_families[FAMILY_COUNT] = {CONFIG_FAMILIES(FAMILY_ROW)};
#undef FAMILY_ROW

const family_info_t *family_get(int f) {
    if (f < 0 || f >= FAMILY_COUNT) micl_fatal("unknown task family %d", f);
    return g_families[f];
}

const char *family_name(int f) {
    return config_family_word(f);
}

int family_find(const char *name) {
    for (int f = 0; f < FAMILY_COUNT; f++)
        if (strcmp(name, config_family_word(f)) == 0) return f;
    return -1;
}
