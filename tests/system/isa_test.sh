#!/usr/bin/env bash
# isa_test.sh MICL SRC WORK - the CPU kernels' instruction-set builds give the same bytes: the
# tiny and tiny_recipe configs are trained under every build this processor runs (MICL_ISA;
# `micl version` lists them: scalar everywhere, avx2 and avx512 where the processor has them),
# and every checkpoint (parameters, AdamW moments, step) and results file (curves, evaluation
# tables) must be identical to the scalar build's, bit for bit. Each results file must record the
# build that made it. A machine without AVX-512 checks the builds it has.
set -euo pipefail
MICL=$1 SRC=$2 WORK=$3
PY=/usr/bin/python3
CMP="$PY $SRC/tests/system/device_compare.py"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
isas=$("$MICL" version | sed -n 's/^cpu kernels: .*this processor runs: \([a-z0-9 ]*\);.*/\1/p')
[ -n "$isas" ] || { echo "micl version lists no instruction sets"; "$MICL" version; exit 1; }
echo "instruction sets: $isas"
for isa in $isas; do
  mkdir -p "$isa"
  for c in tiny tiny_recipe; do # the same config text everywhere (results hold it)
    sed "s|^output_dir = .*|output_dir = \"out-$c\";|; s|data/cache-tiny|../cache|" \
      "$SRC/configs/$c.cfg" > "$isa/$c.cfg"
  done
done
first=${isas%% *}
(cd "$first" && "$MICL" data prepare tiny.cfg > /dev/null && "$MICL" data prepare tiny_recipe.cfg > /dev/null)
for isa in $isas; do
  for c in tiny tiny_recipe; do
    (cd "$isa" && MICL_ISA=$isa "$MICL" train $c.cfg > $c.log 2>&1) ||
      { echo "MICL_ISA=$isa micl train $c.cfg failed:"; tail -20 "$isa/$c.log"; exit 1; }
    grep -q "kernels $isa" "$isa/$c.log" || { echo "$isa/$c.log does not name its kernels"; exit 1; }
  done
  "$PY" -c "
import h5py, sys
for c in ('tiny', 'tiny_recipe'):
    r = h5py.File('$isa/out-' + c + '/results.h5', 'r')
    for name, g in r['runs'].items():
        assert g.attrs['isa'] == '$isa', (c, name, dict(g.attrs))
print('$isa: results record isa = $isa')"
done
for isa in $isas; do
  [ "$isa" = "$first" ] && continue
  for c in tiny tiny_recipe; do
    for f in "$first/out-$c"/*.h5; do
      echo "$c/$(basename "$f"): $first vs $isa"
      $CMP same "$f" "$isa/out-$c/$(basename "$f")"
    done
  done
done
echo "isa_test: ok ($isas give the same bytes)"
