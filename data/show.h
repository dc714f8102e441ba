/* show.h - one episode drawn as a PNG picture (`micl data show`).
 *
 * The picture has a title block (one bold line, then plain lines, split at '\n'), the
 * episode's candidate names (with the class each stands for), then one cell per image turn in
 * order: the image enlarged by an integer factor (nearest neighbour), the turn's prompt words
 * and its answer, green when the answer carries loss and grey when it does not, and the true
 * class. The query turn (the last turn of a binding episode) is highlighted. Text is drawn with
 * FreeType: DejaVu Sans, with Noto Sans CJK for every character DejaVu lacks (real class names
 * of the glyph store are CJK characters). The PNG (RGB, 8-bit) is written to "<out>.tmp" and
 * renamed, so a failure leaves no partial file.
 */
#ifndef MICL_SHOW_H
#define MICL_SHOW_H

#include "episode.h"
#include "store.h"
#include "vocab.h"

/* Debian font files (fonts-dejavu-core, fonts-noto-cjk). The bold face is optional. */
#define SHOW_FONT_LATIN "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define SHOW_FONT_LATIN_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#define SHOW_FONT_CJK "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

/* Draws `ep` (whose images are rows of `store` and whose tokens are words of `v`) under
 * `title` and writes it to out_path. Fails via micl_fatal with a message naming the file. */
void show_episode_png(const episode_t *ep, const image_store_t *store, const vocab_t *v,
                      const char *title, const char *out_path);

#endif
