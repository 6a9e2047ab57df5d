"""The index classes of faiss's API, each a description of the index the server
builds from one index_factory string (faiss_proxy.index.Index does the rest).
Connection gives each connection its own subclasses (api.py).

A constructor that takes another index (a quantizer, the index under an IDMap)
only reads its description: the object passed in is never created on the
server. IndexIVFFlat(quantizer, d, nlist) maps a flat quantizer to
'IVF<nlist>,Flat' and an IndexHNSWFlat(d, M) quantizer to
'IVF<nlist>_HNSW<M>,Flat'; the quantizer's metric must be the index's (faiss's
index_factory builds it so); a quantizer that already holds vectors is refused
(its centroids cannot be used).
"""
import re

from .arrays import count, positive
from .errors import client_error
from .index import METRIC_INNER_PRODUCT, METRIC_L2, Index


class ScalarQuantizer:
    """faiss.ScalarQuantizer's quantizer types (the ones index_factory names)."""

    QT_8bit = 0
    QT_4bit = 1
    QT_8bit_uniform = 2
    QT_4bit_uniform = 3
    QT_fp16 = 4
    QT_8bit_direct = 5
    QT_6bit = 6


class DirectMap:
    """faiss.DirectMap's types, for set_direct_map_type (the server always uses a hashtable)."""

    NoMap = 0
    Array = 1
    Hashtable = 2


_SQ_FACTORY = {
    ScalarQuantizer.QT_8bit: "SQ8",
    ScalarQuantizer.QT_4bit: "SQ4",
    ScalarQuantizer.QT_6bit: "SQ6",
    ScalarQuantizer.QT_fp16: "SQfp16",
    ScalarQuantizer.QT_8bit_direct: "SQ8_direct",
}


def _sq(qtype):
    factory = _SQ_FACTORY.get(count(qtype, "qtype"))
    if factory is None:
        raise client_error(f"Scalar quantizer type {qtype} has no index_factory name; it is not available on the server", "ERR_UNSUPPORTED", RuntimeError)
    return factory


def _inner(index, what):
    if not isinstance(index, Index):
        raise client_error(f"Expected an index of faiss_proxy for {what} but received {type(index).__name__}", "ERR_INVALID_ARGUMENT", TypeError)
    if index._created and index.ntotal > 0:
        raise client_error(f"The {what} already holds vectors; the server builds the whole index from its description, so pass an empty one", "ERR_UNSUPPORTED", RuntimeError)
    return index


def _ivf(quantizer, d, nlist, metric):
    q = _inner(quantizer, "quantizer")
    if q.d != d:
        raise client_error(f"Expected a quantizer of dimension {d} but it has {q.d}", "ERR_DIMENSION", AssertionError)
    if q.metric_type != metric:
        raise client_error(
            f"The quantizer's metric ({q.metric_type}) differs from the index's ({metric}); the server builds both with the index's metric",
            "ERR_UNSUPPORTED",
            RuntimeError,
        )
    nlist = positive(nlist, "nlist")
    if q.factory == "Flat":
        return f"IVF{nlist}"
    m = re.fullmatch(r"HNSW([0-9]+)(,Flat)?", q.factory)
    if m:
        return f"IVF{nlist}_HNSW{m.group(1)}"
    raise client_error(f"A remote IVF index takes a flat or HNSW-flat quantizer, not {q.factory}", "ERR_UNSUPPORTED", RuntimeError)


# The classes, each turned into a subclass per connection (Connection.__init__).


class IndexFlat(Index):
    def __init__(self, d, metric=METRIC_L2, *, name=None):
        super().__init__(d, "Flat", metric, name)


class IndexFlatL2(IndexFlat):
    def __init__(self, d, *, name=None):
        super().__init__(d, METRIC_L2, name=name)


class IndexFlatIP(IndexFlat):
    def __init__(self, d, *, name=None):
        super().__init__(d, METRIC_INNER_PRODUCT, name=name)


class IndexIVFFlat(Index):
    def __init__(self, quantizer, d, nlist, metric=METRIC_L2, *, name=None):
        d = positive(d, "d")
        super().__init__(d, f"{_ivf(quantizer, d, nlist, metric)},Flat", metric, name)


class IndexIVFPQ(Index):
    def __init__(self, quantizer, d, nlist, M, nbits, metric=METRIC_L2, *, name=None):
        d = positive(d, "d")
        super().__init__(d, f"{_ivf(quantizer, d, nlist, metric)},PQ{positive(M, 'M')}x{positive(nbits, 'nbits')}", metric, name)


class IndexIVFScalarQuantizer(Index):
    def __init__(self, quantizer, d, nlist, qtype, metric=METRIC_L2, *, name=None):
        d = positive(d, "d")
        super().__init__(d, f"{_ivf(quantizer, d, nlist, metric)},{_sq(qtype)}", metric, name)


class IndexHNSWFlat(Index):
    def __init__(self, d, M=32, metric=METRIC_L2, *, name=None):
        super().__init__(d, f"HNSW{positive(M, 'M')},Flat", metric, name)


class IndexPQ(Index):
    def __init__(self, d, M, nbits, metric=METRIC_L2, *, name=None):
        super().__init__(d, f"PQ{positive(M, 'M')}x{positive(nbits, 'nbits')}", metric, name)


class IndexScalarQuantizer(Index):
    def __init__(self, d, qtype=ScalarQuantizer.QT_8bit, metric=METRIC_L2, *, name=None):
        super().__init__(d, _sq(qtype), metric, name)


class IndexIDMap(Index):
    def __init__(self, index, *, name=None):
        inner = _inner(index, "index")
        super().__init__(inner.d, f"IDMap,{inner.factory}", inner.metric_type, name)


class IndexIDMap2(Index):
    def __init__(self, index, *, name=None):
        inner = _inner(index, "index")
        super().__init__(inner.d, f"IDMap2,{inner.factory}", inner.metric_type, name)


INDEX_CLASSES = (
    Index,
    IndexFlat,
    IndexFlatL2,
    IndexFlatIP,
    IndexIVFFlat,
    IndexIVFPQ,
    IndexIVFScalarQuantizer,
    IndexHNSWFlat,
    IndexPQ,
    IndexScalarQuantizer,
    IndexIDMap,
    IndexIDMap2,
)
