"""The module-like object connect() returns: faiss's names (IndexFlatL2,
IndexIVFFlat, index_factory, write_index, ParameterSpace, IDSelectorBatch,
SearchParameters, METRIC_L2, ...) with faiss's signatures, backed by indexes on a
faiss-proxy server. Each connection has its own subclasses of the index
classes, so isinstance(index, faiss.IndexFlatL2) works as with faiss.

A constructor that takes another index (a quantizer, the index under an IDMap)
only reads its description: the server builds the whole index from one
index_factory string, so the object passed in is never created on the server.
IndexIVFFlat(quantizer, d, nlist) maps a flat quantizer to 'IVF<nlist>,Flat'
and an IndexHNSWFlat(d, M) quantizer to 'IVF<nlist>_HNSW<M>,Flat'; the
quantizer's metric must be the index's (faiss's index_factory builds it so); a
quantizer that already holds vectors is refused (its centroids cannot be used).
"""
import os
import re

import numpy as np

from . import selectors
from .collections import Collections
from .errors import FaissProxyError, client_error
from .index import (
    METRIC_BrayCurtis,
    METRIC_Canberra,
    METRIC_INNER_PRODUCT,
    METRIC_JensenShannon,
    METRIC_L1,
    METRIC_L2,
    METRIC_Linf,
    METRIC_Lp,
    METRIC_OF_NAME,
    Index,
    _path,
)
from .arrays import count, positive
from .transport import Transport, new_idempotency_key


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


class ParameterSpace:
    """faiss.ParameterSpace for a remote index: nprobe and efSearch, sent with each search."""

    def set_index_parameter(self, index, name, value):
        if not isinstance(index, Index):
            raise client_error(f"Expected an index of faiss_proxy but received {type(index).__name__}", "ERR_INVALID_ARGUMENT", TypeError)
        if name == "nprobe":
            index.nprobe = value
        elif name == "efSearch":
            index.hnsw.efSearch = value
        else:
            raise client_error(f"Parameter {name!r} cannot be set on a remote index (nprobe and efSearch can)", "ERR_UNSUPPORTED", RuntimeError)

    def set_index_parameters(self, index, description):
        for part in description.split(","):
            if part:
                name, _, value = part.partition("=")
                self.set_index_parameter(index, name, int(value) if value.isdigit() else float(value))


def _bytes_of(data, what):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data, dtype=np.uint8).tobytes()
    raise client_error(f"Expected a uint8 numpy array or bytes for {what} but received {type(data).__name__}", "ERR_INVALID_ARGUMENT", TypeError)


class Connection:
    """What faiss_proxy.connect() returns: use it where you used the faiss module."""

    METRIC_INNER_PRODUCT = METRIC_INNER_PRODUCT
    METRIC_L2 = METRIC_L2
    METRIC_L1 = METRIC_L1
    METRIC_Linf = METRIC_Linf
    METRIC_Lp = METRIC_Lp
    METRIC_Canberra = METRIC_Canberra
    METRIC_BrayCurtis = METRIC_BrayCurtis
    METRIC_JensenShannon = METRIC_JensenShannon
    ScalarQuantizer = ScalarQuantizer
    DirectMap = DirectMap
    ParameterSpace = ParameterSpace
    FaissProxyError = FaissProxyError
    IDSelector = selectors.IDSelector
    IDSelectorBatch = selectors.IDSelectorBatch
    IDSelectorArray = selectors.IDSelectorArray
    IDSelectorRange = selectors.IDSelectorRange
    IDSelectorBitmap = selectors.IDSelectorBitmap
    IDSelectorNot = selectors.IDSelectorNot
    IDSelectorAll = selectors.IDSelectorAll
    IDSelectorAnd = selectors.IDSelectorAnd
    IDSelectorOr = selectors.IDSelectorOr
    IDSelectorXOr = selectors.IDSelectorXOr
    SearchParameters = selectors.SearchParameters
    SearchParametersIVF = selectors.SearchParametersIVF
    SearchParametersHNSW = selectors.SearchParametersHNSW
    IVFSearchParameters = selectors.IVFSearchParameters

    def __init__(self, transport):
        self._transport = transport
        for cls in INDEX_CLASSES:
            setattr(self, cls.__name__, type(cls.__name__, (cls,), {"_conn": self, "__module__": cls.__module__, "__doc__": cls.__doc__}))
        self._collections = Collections(transport)

    @property
    def url(self):
        return self._transport.base

    def index_factory(self, d, description, metric=METRIC_L2, *, name=None):
        """Any factory string the server builds (docs/http-api.md, POST /v1/indexes)."""
        if not isinstance(description, str) or not description:
            raise client_error(f"Expected a non-empty factory string but received {description!r}", "ERR_INVALID_ARGUMENT", TypeError)
        return self.Index(d, description, metric, name)

    def open_index(self, name):
        """The index of that name on the server, attached (never deleted by this object's collection)."""
        info = self._transport.request("GET", _path(name)).json()
        if info.get("metric") == "Hamming":
            raise FaissProxyError(f"Index {name} is a binary index, which this client does not handle", "ERR_UNSUPPORTED")
        return self.Index._attached(info, False)

    def list_indexes(self):
        return self._transport.request("GET", "/v1/indexes").json()["indexes"]

    def serialize_index(self, index):
        """FAISS's bytes of the index, a uint8 numpy array, as faiss.serialize_index gives (faiss.deserialize_index reads it)."""
        return _remote(index).serialize()

    def deserialize_index(self, data, *, name=None):
        """A new index on the server from FAISS's bytes (faiss.serialize_index's), checked in the server's sandbox."""
        return self._import(_bytes_of(data, "data"), name)

    def write_index(self, index, fname):
        """The index's FAISS file (GET /export), written to a path or a binary file object; faiss.read_index reads it."""
        data = _remote(index).serialize().tobytes()
        if hasattr(fname, "write"):
            fname.write(data)
            return
        with open(os.fspath(fname), "wb") as f:
            f.write(data)

    def read_index(self, fname, io_flags=0, *, name=None):
        """A new index on the server from a FAISS file (faiss.write_index's): a path or a binary file object."""
        if io_flags:
            raise client_error("io_flags (mmap, read-only) do not apply to an index read into the server", "ERR_UNSUPPORTED", RuntimeError)
        if hasattr(fname, "read"):
            data = fname.read()
        else:
            try:
                with open(os.fspath(fname), "rb") as f:
                    data = f.read()
            except OSError as e:
                raise client_error(f"Cannot read {fname}: {e}", "ERR_IO", RuntimeError) from None
        return self._import(data, name)

    def _import(self, data, name):
        target = name if name is not None else f"idx-{new_idempotency_key()}"
        info = self._transport.request("PUT", _path(target, "/import"), data=data, idempotency_key=new_idempotency_key()).json()
        return self.Index._attached(info, name is None)

    # Collections (issue 18): faiss.collection(name), faiss.create_collection(...), aliases.
    def collection(self, name):
        return self._collections.collection(name)

    def create_collection(self, name, dimension, factory=None, metric=None, payload_indexes=None):
        return self._collections.create(name, dimension, factory, metric, payload_indexes)

    def list_collections(self):
        return self._collections.list()

    def delete_collection(self, name):
        return self._collections.delete(name)

    def create_alias(self, alias, collection):
        return self._collections.create_alias(alias, collection)

    def switch_alias(self, alias, collection):
        return self._collections.switch_alias(alias, collection)

    def delete_alias(self, alias):
        return self._collections.delete_alias(alias)

    def list_aliases(self):
        return self._collections.list_aliases()

    def __repr__(self):
        return f"<faiss_proxy connection to {self._transport.base}>"


def _remote(index):
    if not isinstance(index, Index):
        raise client_error(f"Expected an index of faiss_proxy but received {type(index).__name__}", "ERR_INVALID_ARGUMENT", TypeError)
    return index


def connect(url=None, api_key=None, *, timeout=30.0, write_timeout=600.0, retry_for=15.0):
    """A module-like object with faiss's API over the server at `url`.

    url / api_key: else FAISS_PROXY_URL / FAISS_PROXY_API_KEY, else the config file
    ($FAISS_PROXY_CONFIG, ./faiss-proxy.json, ~/.faiss-proxy.json: {"url", "apiKey"}).
    timeout: seconds per attempt of a read; write_timeout: of a write (training
    and graph building take long); retry_for: how long a call keeps retrying
    connection errors, timeouts, 429 and 502/503/504 (0: no retries).
    Nothing is sent until an index is used.
    """
    from .config import resolve_settings

    url, api_key = resolve_settings(url, api_key)
    return Connection(Transport(url, api_key, timeout=timeout, write_timeout=write_timeout, retry_for=retry_for))
