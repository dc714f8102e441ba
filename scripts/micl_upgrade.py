#!/usr/bin/env python3
"""micl_upgrade.py OLD NEW - rewrites a micl file from before checksums (HDF5 superblock version
0: image stores of schema 1 or 2, checkpoints of schema 1 or 2, results of schema 1, bench files
of schema 2) in the checksummed format this micl reads (scripts/micl_h5.py): the same groups,
datasets and attributes, values unchanged, with the schema version that marks the format.

micl refuses the old files because a damaged byte in them cannot be detected; this rewrite
checksums what the old file holds now, so run it on files you trust (a copy that still trains,
evaluates or reports as before). NEW must not exist. Exit 0 on success, 1 with a message.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import micl_h5  # noqa: E402

# kind -> {old schema version: new one}; stores carry no kind (they have /images)
UPGRADES = {
    "micl-checkpoint": {1: 3, 2: 3},
    "micl-results": {1: 2},
    "micl-bench": {2: 3},
    "store": {1: 3, 2: 4},
}


def fail(msg):
    print("micl_upgrade.py: " + msg, file=sys.stderr)
    sys.exit(1)


def copy_attrs(src, dst):
    for name in src.attrs:
        value = src.attrs[name]
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        dst.attrs[name] = value


def copy_tree(src, dst):
    for name, obj in src.items():
        if isinstance(obj, h5py.Group):
            copy_tree(obj, micl_h5.group(dst, name))
        else:
            info = h5py.check_string_dtype(obj.dtype)
            if info is not None and obj.shape == ():
                value = obj[()]
                d = micl_h5.text(dst, name, value.decode("utf-8") if isinstance(value, bytes)
                                 else str(value))
            elif info is not None:
                d = micl_h5.dataset(dst, name, list(obj[()]))
            else:
                d = micl_h5.dataset(dst, name, obj[()])
            copy_attrs(obj, d)
    copy_attrs(src, dst)


def main(argv):
    if len(argv) != 3:
        fail("usage: micl_upgrade.py OLD NEW")
    old, new = argv[1], argv[2]
    if os.path.exists(new):
        fail("%s exists: give a new name" % new)
    try:
        src = h5py.File(old, "r")
    except OSError as e:
        fail("%s: cannot open as HDF5 (%s)" % (old, e))
    kind = src.attrs.get("kind", "store" if "images" in src else None)
    if isinstance(kind, bytes):
        kind = kind.decode("utf-8")
    if kind not in UPGRADES:
        fail("%s: not a micl file this script upgrades (kind %r)" % (old, kind))
    version = int(src.attrs.get("schema_version", -1))
    if version not in UPGRADES[kind]:
        fail("%s: %s schema version %d: nothing to upgrade (this script upgrades %s)"
             % (old, kind, version, ", ".join(str(v) for v in UPGRADES[kind])))
    tmp = new + ".tmp"
    try:
        with micl_h5.create(tmp) as dst:
            copy_tree(src, dst)
            dst.attrs["schema_version"] = np.asarray(UPGRADES[kind][version],
                                                     dtype=src.attrs["schema_version"].dtype)
            micl_h5.seal_all(dst)
        os.rename(tmp, new)
    except Exception as e:  # leave nothing half-written
        if os.path.exists(tmp):
            os.remove(tmp)
        fail("%s: cannot write %s (%s)" % (old, new, e))
    print("%s: %s schema %d -> %s (schema %d)" % (old, kind, version, new, UPGRADES[kind][version]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
