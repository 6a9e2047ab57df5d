"""An index on a faiss-proxy server with faiss's Python methods, argument rules
and result types: train, add, add_with_ids, search -> (D, I), range_search ->
(lims, D, I), remove_ids, reconstruct, reconstruct_n, reset, ntotal, is_trained,
d, metric_type, nprobe, hnsw.efSearch.

What necessarily differs from an index in process (docs/python.md):
- The index is created on the server by its first use (a constructor sends
  nothing), under its name: the one given (name='docs'), else a generated
  'idx-<uuid>'.
- ntotal and is_trained are as of this object's last call (each write answers
  them); another client's writes show after refresh().
- nprobe and hnsw.efSearch are this object's own: they are sent with each search
  (the server's index keeps its defaults).
- An index created without a name is deleted from the server when this object is
  garbage-collected (or at interpreter exit), as the TypeScript client's
  dispose() does; a named one stays until drop().
"""
import os
import re
import threading
import weakref

import numpy as np

from .arrays import count, id_vector, matrix, number, positive
from .errors import FaissProxyError, client_error
from .selectors import IDSelector, SearchParameters, filter_part
from .transport import new_idempotency_key

METRIC_INNER_PRODUCT = 0
METRIC_L2 = 1
METRIC_L1 = 2
METRIC_Linf = 3
METRIC_Lp = 4
METRIC_Canberra = 20
METRIC_BrayCurtis = 21
METRIC_JensenShannon = 22

METRIC_NAMES = {
    METRIC_INNER_PRODUCT: "IP",
    METRIC_L2: "L2",
    METRIC_L1: "L1",
    METRIC_Linf: "Linf",
    METRIC_Canberra: "Canberra",
    METRIC_BrayCurtis: "BrayCurtis",
    METRIC_JensenShannon: "JensenShannon",
}
METRIC_OF_NAME = {v: k for k, v in METRIC_NAMES.items()}
METRIC_OF_NAME["Lp"] = METRIC_Lp

#: The most ids one reconstruct request carries (lib/wire.ts MAX_RECONSTRUCT_IDS); longer calls are split.
MAX_RECONSTRUCT_IDS = 10_000

_TRAINED_UNLESS = re.compile(r"IVF|PQ|SQ[0-9f]|PCA|OPQ|LSH|ITQ")


def metric_name(metric):
    metric = count(metric, "metric")
    if metric not in METRIC_NAMES:
        code = "ERR_UNSUPPORTED" if metric == METRIC_Lp else "ERR_INVALID_ARGUMENT"
        raise client_error(f"Metric {metric} cannot be created on the server (METRIC_Lp's p is not stored with the index)" if metric == METRIC_Lp else f"Unknown metric {metric}", code, ValueError)
    return METRIC_NAMES[metric]


def _drop_quietly(transport, name, pid):
    # Runs when an anonymous index's object is collected: one attempt, errors ignored.
    # Only in the process that created it: a forked child's copy going away is not the index going away.
    if os.getpid() != pid:
        return
    try:
        transport.request("DELETE", _path(name), idempotency_key=new_idempotency_key(), retry=False, timeout=5.0)
    except Exception:  # noqa: BLE001 - a finalizer must not raise
        pass


def _path(name, suffix=""):
    from urllib.parse import quote

    return f"/v1/indexes/{quote(name, safe='')}{suffix}"


class HNSWParameters:
    """index.hnsw as faiss has it: efSearch (sent with each search); efConstruction and M are the server's."""

    def __init__(self, index):
        self._index = weakref.ref(index)

    @property
    def efSearch(self):
        v = self._index()._efSearch
        if v is not None:
            return v
        return self._index()._info.get("efSearch", 16)

    @efSearch.setter
    def efSearch(self, v):
        self._index()._efSearch = positive(v, "efSearch")

    @property
    def efConstruction(self):
        index = self._index()
        return index._create_params.get("efConstruction", index._info.get("efConstruction", 40))

    @efConstruction.setter
    def efConstruction(self, v):
        # Sent with the index's creation, at its first use; FAISS reads it while it builds the graph.
        index = self._index()
        if index._created:
            raise client_error("efConstruction is fixed once the index exists on the server: set it before the first add", "ERR_UNSUPPORTED", RuntimeError)
        index._create_params["efConstruction"] = positive(v, "efConstruction")


class Index:
    """An index on the server. Built by the classes of a connection (faiss_proxy.connect())."""

    _conn = None  # set on each connection's subclasses

    def __init__(self, d, factory, metric=METRIC_L2, name=None):
        metric_name(metric)
        self._setup(positive(d, "d"), factory, int(metric), name, None)

    def _setup(self, d, factory, metric, name, info, anonymous=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise client_error(f"Expected a non-empty string for name but received {name!r}", "ERR_INVALID_ARGUMENT", TypeError)
        self._d = d
        self._factory = factory
        self._metric = metric
        self._anonymous = name is None if anonymous is None else anonymous
        self.name = name if name is not None else f"idx-{new_idempotency_key()}"
        self._info = dict(info) if info else {}
        self._created = info is not None
        self._create_lock = threading.Lock()
        self._nprobe = None
        self._efSearch = None
        self._create_params = {}
        self._finalizer = None
        if self._created and self._anonymous:
            self._finalizer = weakref.finalize(self, _drop_quietly, self._conn._transport, self.name, os.getpid())

    @classmethod
    def _attached(cls, info, anonymous):
        """An object for an index that exists on the server (open_index; read_index: anonymous unless named)."""
        self = cls.__new__(cls)
        self._setup(info["dimension"], info.get("factory", ""), METRIC_OF_NAME.get(info.get("metric"), METRIC_L2), info["name"], info, anonymous)
        return self

    # --- what faiss's Index has ---

    @property
    def d(self):
        return self._d

    @property
    def metric_type(self):
        return self._metric

    @property
    def ntotal(self):
        return self._info.get("ntotal", 0)

    @property
    def is_trained(self):
        if "isTrained" in self._info:
            return self._info["isTrained"]
        return not _TRAINED_UNLESS.search(self._factory)

    @property
    def factory(self):
        """The index_factory string the server builds it from ('imported <type>' after an import)."""
        return self._factory

    def _kind(self):
        return f"{self._factory} {self._info.get('type', '')}"

    @property
    def nprobe(self):
        if "IVF" not in self._kind():
            raise AttributeError(f"{type(self).__name__} ({self._factory}) has no attribute 'nprobe'")
        return self._nprobe if self._nprobe is not None else self._info.get("nprobe", 1)

    @nprobe.setter
    def nprobe(self, v):
        if "IVF" not in self._kind():
            raise client_error(f"nprobe applies to IVF indexes; this one is {self._factory}", "ERR_UNSUPPORTED", AttributeError)
        self._nprobe = positive(v, "nprobe")

    @property
    def hnsw(self):
        if "HNSW" not in self._kind():
            raise AttributeError(f"{type(self).__name__} ({self._factory}) has no attribute 'hnsw'")
        return HNSWParameters(self)

    def train(self, x):
        x = matrix(x, self._d)
        self._write("/train", data=x.tobytes())

    def add(self, x):
        x = matrix(x, self._d)
        if len(x) == 0:
            return
        self._write("/add", data=x.tobytes())

    def add_with_ids(self, x, ids):
        x = matrix(x, self._d)
        ids = id_vector(ids, len(x))
        if len(x) == 0:
            return
        self._write("/add", data=x.tobytes() + ids.astype("<i8", copy=False).tobytes(), query={"ids": True})

    def search(self, x, k, *, params=None, D=None, I=None):
        x = matrix(x, self._d)
        k = positive(k, "k")
        n = len(x)
        if D is not None and D.shape != (n, k):
            raise client_error(f"Expected D of shape {(n, k)} but its shape is {D.shape}", "ERR_DIMENSION", AssertionError)
        if I is not None and I.shape != (n, k):
            raise client_error(f"Expected I of shape {(n, k)} but its shape is {I.shape}", "ERR_DIMENSION", AssertionError)
        if n == 0:
            dist, labels = np.empty((0, k), dtype=np.float32), np.empty((0, k), dtype=np.int64)
        else:
            query, body = self._search_options(params, x)
            query["k"] = k
            r = self._request("POST", "/search", query=query, data=body, binary=True)
            content = self._expect(r, n * k * 12, "search")
            dist = np.frombuffer(content, dtype="<f4", count=n * k).reshape(n, k).astype(np.float32)
            labels = np.frombuffer(content, dtype="<i8", count=n * k, offset=n * k * 4).reshape(n, k).astype(np.int64)
            self._note_version(r)
        if D is not None:
            D[:] = dist
            dist = D
        if I is not None:
            I[:] = labels
            labels = I
        return dist, labels

    def assign(self, x, k, labels=None):
        return self.search(x, k, I=labels)[1]

    def range_search(self, x, thresh, *, params=None):
        x = matrix(x, self._d)
        thresh = number(thresh, "thresh")
        n = len(x)
        if n == 0:
            return np.zeros(1, dtype=np.uint64), np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        query, body = self._search_options(params, x)
        query["radius"] = repr(thresh)
        r = self._request("POST", "/range_search", query=query, data=body, binary=True)
        try:
            total = int(r.headers.get("X-Faiss-Total", ""))
        except ValueError:
            raise FaissProxyError("The server's range search answer has no valid X-Faiss-Total header", "ERR_SERVER") from None
        content = self._expect(r, (n + 1) * 8 + max(total, 0) * 12, "range search")
        lims = np.frombuffer(content, dtype="<u8", count=n + 1).astype(np.uint64)
        at = (n + 1) * 8
        dist = np.frombuffer(content, dtype="<f4", count=total, offset=at).astype(np.float32)
        labels = np.frombuffer(content, dtype="<i8", count=total, offset=at + total * 4).astype(np.int64)
        return lims, dist, labels

    def remove_ids(self, x):
        if isinstance(x, IDSelector):
            part = filter_part(x)
            r = self._write("/remove", data=part, query={"filterBytes": len(part)})
            return r["removed"]
        if not hasattr(x, "ndim"):
            raise client_error(f"Expected a numpy array of ids or an IDSelector but received {type(x).__name__}", "ERR_INVALID_ARGUMENT", AttributeError)
        if x.ndim != 1:
            raise client_error(f"Expected ids of one dimension but their shape is {x.shape}", "ERR_DIMENSION", AssertionError)
        ids = id_vector(x)
        if len(ids) == 0:
            return 0
        return self._write("/remove", data=ids.astype("<i8", copy=False).tobytes())["removed"]

    def reconstruct(self, key, x=None):
        key = count(key, "key")
        if x is not None and x.shape != (self._d,):
            raise client_error(f"Expected x of shape ({self._d},) but its shape is {x.shape}", "ERR_DIMENSION", AssertionError)
        v = self._reconstruct([key])[0]
        if x is None:
            return v
        x[:] = v
        return x

    def reconstruct_batch(self, key, x=None):
        ids = id_vector(key, what="key")
        out = self._reconstruct_all(ids.tolist())
        if x is None:
            return out
        x[:] = out
        return x

    def reconstruct_n(self, n0=0, ni=None, x=None):
        n0 = count(n0, "n0")
        ni = self.ntotal - n0 if ni is None or ni == -1 else count(ni, "ni")
        if x is not None and x.shape != (ni, self._d):
            raise client_error(f"Expected x of shape {(ni, self._d)} but its shape is {x.shape}", "ERR_DIMENSION", AssertionError)
        out = self._reconstruct_all(range(n0, n0 + ni))
        if x is None:
            return out
        x[:] = out
        return x

    def reset(self):
        self._write("/reset", data=None)

    def make_direct_map(self, new_maintain_direct_map=True):
        """The server builds an IVF index's direct map (a hashtable) itself the first time reconstruct needs it: nothing to do."""
        self._ensure()

    def set_direct_map_type(self, type):
        """As make_direct_map: the server's direct map is a hashtable, which takes any ids."""
        self._ensure()

    # --- the remote index's own ---

    def refresh(self):
        """Asks the server for the index's current state (ntotal, is_trained, ...) and returns it."""
        self._ensure()
        self._info = self._conn._transport.request("GET", _path(self.name)).json()
        return dict(self._info)

    def serialize(self):
        """FAISS's bytes of the index (GET /export), as a uint8 numpy array."""
        self._ensure()
        r = self._conn._transport.request("GET", _path(self.name, "/export"), binary=True)
        return np.frombuffer(r.content, dtype=np.uint8).copy()

    def drop(self):
        """Deletes the index from the server (an index that is not there is not an error)."""
        if self._finalizer is not None:
            self._finalizer.detach()
        try:
            self._conn._transport.request("DELETE", _path(self.name), idempotency_key=new_idempotency_key())
        except FaissProxyError as e:
            if e.code != "ERR_INDEX_NOT_FOUND":
                raise
        self._created = False
        self._info = {}

    def __repr__(self):
        return f"<faiss_proxy {type(self).__name__} {self.name!r} d={self._d} {self._factory!r}>"

    # --- plumbing ---

    def _ensure(self):
        if self._created:
            return
        with self._create_lock:
            if self._created:
                return
            transport = self._conn._transport
            body = {"name": self.name, "dimension": self._d, "factory": self._factory, "metric": metric_name(self._metric)}
            if self._create_params:
                body["params"] = self._create_params
            try:
                info = transport.request("POST", "/v1/indexes", json_body=body, idempotency_key=new_idempotency_key()).json()
            except FaissProxyError as e:
                # A retried create whose first attempt had succeeded, or a rerun of a script
                # that names its index: an index of that name, dimension and factory is attached to.
                if e.code != "ERR_INDEX_EXISTS":
                    raise
                info = transport.request("GET", _path(self.name)).json()
                if info.get("dimension") != self._d or info.get("factory") != self._factory:
                    raise
            self._info = info
            self._created = True
            if self._anonymous:
                self._finalizer = weakref.finalize(self, _drop_quietly, transport, self.name, os.getpid())

    def _request(self, method, suffix, **kw):
        self._ensure()
        return self._conn._transport.request(method, _path(self.name, suffix), **kw)

    def _write(self, suffix, data, query=None):
        r = self._request("POST", suffix, data=data, query=query, idempotency_key=new_idempotency_key())
        out = r.json() or {}
        for key in ("ntotal", "isTrained", "type", "nprobe", "efSearch", "efConstruction"):
            if key in out:
                self._info[key] = out[key]
        self._note_version(r)
        return out

    def _note_version(self, r):
        v = r.headers.get("X-Index-Version")
        if v is not None:
            self._info["version"] = int(v)

    def _search_options(self, params, x):
        query = {}
        if self._nprobe is not None:
            query["nprobe"] = self._nprobe
        if self._efSearch is not None:
            query["efSearch"] = self._efSearch
        body = x.tobytes()
        if params is not None:
            if not isinstance(params, SearchParameters):
                raise client_error(f"Expected SearchParameters for params but received {type(params).__name__}", "ERR_INVALID_ARGUMENT", TypeError)
            query.update(params.query())
            if params.sel is not None:
                part = filter_part(params.sel)
                body += part
                query["filterBytes"] = len(part)
        return query, body

    @staticmethod
    def _expect(r, size, what):
        if len(r.content) != size:
            raise FaissProxyError(f"The server's {what} answer has {len(r.content)} bytes where {size} were expected", "ERR_SERVER")
        return r.content

    def _reconstruct(self, ids):
        r = self._request("POST", "/reconstruct", json_body={"ids": ids}, binary=True)
        content = self._expect(r, len(ids) * self._d * 4, "reconstruct")
        return np.frombuffer(content, dtype="<f4").reshape(len(ids), self._d).astype(np.float32)

    def _reconstruct_all(self, ids):
        ids = list(ids)
        if not ids:
            return np.empty((0, self._d), dtype=np.float32)
        chunks = [self._reconstruct(ids[i : i + MAX_RECONSTRUCT_IDS]) for i in range(0, len(ids), MAX_RECONSTRUCT_IDS)]
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
