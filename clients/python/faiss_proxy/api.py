"""The module-like object connect() returns: faiss's names (IndexFlatL2,
IndexIVFFlat, index_factory, write_index, ParameterSpace, IDSelectorBatch,
SearchParameters, METRIC_L2, ...) with faiss's signatures, backed by indexes on a
faiss-proxy server. Each connection has its own subclasses of the index
classes (classes.py), so isinstance(index, faiss.IndexFlatL2) works as with faiss.
"""
import os

import numpy as np

from . import selectors
from .classes import INDEX_CLASSES, DirectMap, ScalarQuantizer
from .remote_collections import Collections
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
    Index,
    _path,
)
from .transport import Transport, new_idempotency_key


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
