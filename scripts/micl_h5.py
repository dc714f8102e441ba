"""micl_h5.py - the HDF5 format micl writes and reads (common/h5util.h; its checks are in
common/h5check.h), for making or editing micl files with h5py (tests, scripts/micl_upgrade.py,
your own image stores): the HDF5 1.10 format (superblock version 3, checksummed metadata); every
non-empty 1-D dataset chunked with the Fletcher32 filter, lists of strings as fixed-length UTF-8
strings; a text (the config) as one variable-length string in a compact dataset; and in each
object that holds variable-length strings the attribute strings_crc32: the CRC-32 of, for a
text, its string with its NUL; then, in the order of their names, each variable-length string
attribute but strings_crc32 itself, as name NUL value NUL.

    import micl_h5                   # with scripts/ on sys.path
    f = micl_h5.create("x.h5")       # or micl_h5.edit("x.h5") for an existing file
    micl_h5.dataset(f, "labels", np.arange(4, dtype=np.int32))
    f.attrs["kind"] = "micl-results"
    micl_h5.seal_all(f); f.close()   # after the last change
"""
import ctypes
import ctypes.util
import zlib

import h5py
import numpy as np

CRC = "strings_crc32"


# micl keeps links and attributes in their object's header however many there are (compact
# storage, never a fractal heap); h5py has no call for the links' limit, so libhdf5's is used.
MAX_COMPACT = 65535
try:  # the libhdf5 that h5py uses (already loaded: the same library, the same ids)
    _set_link_phase_change = ctypes.CDLL("libhdf5_serial.so.103").H5Pset_link_phase_change
except OSError:
    _set_link_phase_change = ctypes.CDLL(ctypes.util.find_library("hdf5")).H5Pset_link_phase_change
_set_link_phase_change.argtypes = [ctypes.c_int64, ctypes.c_uint, ctypes.c_uint]


def _compact(plist, links=True):
    plist.set_obj_track_times(False)
    plist.set_attr_phase_change(MAX_COMPACT, MAX_COMPACT)
    if links and _set_link_phase_change(plist.id, MAX_COMPACT, MAX_COMPACT) < 0:
        raise RuntimeError("H5Pset_link_phase_change failed")
    return plist


def create(path):
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
    fcpl = _compact(h5py.h5p.create(h5py.h5p.FILE_CREATE))
    fid = h5py.h5f.create(path.encode("utf-8"), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    return h5py.File(fid)


def group(loc, name):
    """A group as micl makes one: links and attributes in its header."""
    gcpl = _compact(h5py.h5p.create(h5py.h5p.GROUP_CREATE))
    return h5py.Group(h5py.h5g.create(loc.id, name.encode("utf-8"), gcpl=gcpl))


def edit(path):
    return h5py.File(path, "r+", libver=("v110", "v110"))


def _vlen(dtype):
    info = h5py.check_string_dtype(dtype)
    return info is not None and info.length is None


def dataset(loc, name, data, **kw):
    """A dataset as micl writes one: chunked with Fletcher32; strings fixed-length UTF-8."""
    arr = np.asarray(data)
    if arr.dtype.kind in "USO":
        raw = [s if isinstance(s, bytes) else str(s).encode("utf-8") for s in arr.ravel()]
        width = max([1] + [len(s) for s in raw])
        arr = np.array(raw, dtype=h5py.string_dtype("utf-8", width)).reshape(arr.shape)
    if arr.size == 0:
        return loc.create_dataset(name, data=arr, **kw)
    return loc.create_dataset(name, data=arr, chunks=True, fletcher32=True, **kw)


def text(loc, name, value):
    """A text as micl writes one: a variable-length string in a compact dataset, sealed."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    dcpl.set_obj_track_times(False)
    tid = h5py.h5t.py_create(h5py.string_dtype(), logical=True)
    space = h5py.h5s.create(h5py.h5s.SCALAR)
    dsid = h5py.h5d.create(loc.id, name.encode("utf-8"), tid, space, dcpl=dcpl)
    d = h5py.Dataset(dsid)
    d[()] = value
    seal(d)
    return d


def _text(v):
    return v if isinstance(v, bytes) else str(v).encode("utf-8")


def seal(obj):
    """Sets (or removes, when it holds no variable-length string) obj's strings_crc32."""
    crc, count = zlib.crc32(b""), 0
    if isinstance(obj, h5py.Dataset) and _vlen(obj.dtype):
        for s in np.asarray(obj[()], dtype=object).ravel():
            crc = zlib.crc32(_text(s) + b"\0", crc)
            count += 1
    for name in sorted(obj.attrs.keys(), key=lambda n: n.encode("utf-8")):
        if name == CRC or not _vlen(obj.attrs.get_id(name).dtype):
            continue
        crc = zlib.crc32(name.encode("utf-8") + b"\0" + _text(obj.attrs[name]) + b"\0", crc)
        count += 1
    if CRC in obj.attrs:
        del obj.attrs[CRC]
    if count:
        obj.attrs[CRC] = np.int64(crc)


def seal_all(f):
    """seal() on the file's root and every group and dataset in it."""
    seal(f)
    f.visititems(lambda _name, obj: seal(obj))
