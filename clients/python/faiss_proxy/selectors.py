"""IDSelector* and SearchParameters* with faiss's names and constructors, and
the binary filter part they travel as (lib/wire.ts, selectorPart): the terms
depth first, each 8-byte aligned, a little-endian u32 tag and a zero u32, then
1 ids: u64 n and n int64; 2 range: int64 min, max; 3 bitmap: u64 length and the
bytes padded to 8; 4 not: one term; 5 and, 6 or, 7 xor: two terms.
"""
import numpy as np

from .arrays import count, id_vector
from .errors import client_error

_TAG = {"ids": 1, "range": 2, "bitmap": 3, "not": 4, "and": 5, "or": 6, "xor": 7}


class IDSelector:
    """Base of the selectors; each says which ids a search, range search or remove_ids considers."""

    def _parts(self, out):
        raise NotImplementedError

    def is_member(self, id):
        raise NotImplementedError


def _head(out, tag):
    out.append(np.array([_TAG[tag], 0], dtype="<u4").tobytes())


def _ids_of(args, what):
    # faiss takes (n, array) from SWIG, or one array (handle_IDSelectorSubset).
    if len(args) == 2:
        n = count(args[0], "n")
        ids = id_vector(args[1], what=what)
        if ids.shape[0] < n:
            raise client_error(f"{what} holds {ids.shape[0]} ids, fewer than n = {n}", "ERR_INVALID_ARGUMENT", ValueError)
        return ids[:n]
    if len(args) == 1:
        return id_vector(args[0], what=what)
    raise client_error(f"Expected (ids) or (n, ids) but received {len(args)} arguments", "ERR_INVALID_ARGUMENT", TypeError)


class IDSelectorBatch(IDSelector):
    """The ids in a set: IDSelectorBatch(ids) or IDSelectorBatch(n, ids)."""

    def __init__(self, *args):
        self.ids = _ids_of(args, "ids")
        self._set = None

    def _parts(self, out):
        _head(out, "ids")
        out.append(np.array([len(self.ids)], dtype="<u8").tobytes())
        out.append(self.ids.astype("<i8", copy=False).tobytes())

    def is_member(self, id):
        if self._set is None:
            self._set = set(self.ids.tolist())
        return int(id) in self._set


class IDSelectorArray(IDSelectorBatch):
    """The ids in an array (faiss scans it; the service takes it as a batch)."""


class IDSelectorRange(IDSelector):
    """imin <= id < imax."""

    def __init__(self, imin, imax, assume_sorted=False):
        self.imin = int(imin)
        self.imax = int(imax)
        self.assume_sorted = assume_sorted

    def _parts(self, out):
        _head(out, "range")
        out.append(np.array([self.imin, self.imax], dtype="<i8").tobytes())

    def is_member(self, id):
        return self.imin <= int(id) < self.imax


class IDSelectorBitmap(IDSelector):
    """Id i when bit i & 7 of byte i >> 3 is set: IDSelectorBitmap(bitmap) or IDSelectorBitmap(n, bitmap), n the bytes."""

    def __init__(self, *args):
        if len(args) == 2:
            n = count(args[0], "n")
            bits = np.ascontiguousarray(args[1], dtype="uint8")[:n]
        elif len(args) == 1:
            bits = np.ascontiguousarray(args[0], dtype="uint8")
        else:
            raise client_error(f"Expected (bitmap) or (n, bitmap) but received {len(args)} arguments", "ERR_INVALID_ARGUMENT", TypeError)
        self.bitmap = bits.ravel()

    def _parts(self, out):
        _head(out, "bitmap")
        n = len(self.bitmap)
        out.append(np.array([n], dtype="<u8").tobytes())
        out.append(self.bitmap.tobytes() + bytes(-n % 8))

    def is_member(self, id):
        id = int(id)
        return 0 <= id and (id >> 3) < len(self.bitmap) and bool(self.bitmap[id >> 3] >> (id & 7) & 1)


def _selector(v, what):
    if not isinstance(v, IDSelector):
        raise client_error(f"Expected an IDSelector for {what} but received {type(v).__name__}", "ERR_INVALID_ARGUMENT", TypeError)
    return v


class IDSelectorNot(IDSelector):
    def __init__(self, sel):
        self.sel = _selector(sel, "sel")

    def _parts(self, out):
        _head(out, "not")
        self.sel._parts(out)

    def is_member(self, id):
        return not self.sel.is_member(id)


class IDSelectorAll(IDSelector):
    """Every id (sent as the complement of no id)."""

    def _parts(self, out):
        IDSelectorNot(IDSelectorBatch(np.empty(0, dtype="int64")))._parts(out)

    def is_member(self, id):
        return True


class _Pair(IDSelector):
    _tag = None

    def __init__(self, lhs, rhs):
        self.lhs = _selector(lhs, "lhs")
        self.rhs = _selector(rhs, "rhs")

    def _parts(self, out):
        _head(out, self._tag)
        self.lhs._parts(out)
        self.rhs._parts(out)


class IDSelectorAnd(_Pair):
    _tag = "and"

    def is_member(self, id):
        return self.lhs.is_member(id) and self.rhs.is_member(id)


class IDSelectorOr(_Pair):
    _tag = "or"

    def is_member(self, id):
        return self.lhs.is_member(id) or self.rhs.is_member(id)


class IDSelectorXOr(_Pair):
    _tag = "xor"

    def is_member(self, id):
        return self.lhs.is_member(id) != self.rhs.is_member(id)


def filter_part(sel):
    """The filter part of `sel`: what the service reads back as a selector of the same ids."""
    out = []
    _selector(sel, "sel")._parts(out)
    return b"".join(out)


class SearchParameters:
    """SearchParameters(sel=...), and the IVF and HNSW ones with nprobe / efSearch, as faiss's keyword constructors."""

    _fields = ("sel",)

    def __init__(self, **kwargs):
        self.sel = None
        for name in self._fields[1:]:
            setattr(self, name, None)
        for k, v in kwargs.items():
            if k not in self._fields:
                raise client_error(f"{type(self).__name__} has no parameter {k!r}", "ERR_INVALID_ARGUMENT", AssertionError)
            setattr(self, k, v)

    def query(self):
        """The search's query-string options (nprobe, efSearch), None where not set."""
        q = {}
        for name in self._fields[1:]:
            v = getattr(self, name)
            if v is not None:
                q["efSearch" if name == "efSearch" else name] = count(v, name)
        return q


class SearchParametersIVF(SearchParameters):
    _fields = ("sel", "nprobe", "max_codes")

    def query(self):
        if getattr(self, "max_codes", None):
            raise client_error("max_codes is not available over HTTP", "ERR_UNSUPPORTED", RuntimeError)
        return {"nprobe": count(self.nprobe, "nprobe")} if self.nprobe is not None else {}


class SearchParametersHNSW(SearchParameters):
    _fields = ("sel", "efSearch")


IVFSearchParameters = SearchParametersIVF
