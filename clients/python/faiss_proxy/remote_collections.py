"""The server's collections (/v1/collections, /v1/aliases; docs/http-api.md#collection-routes):
points with a string id, a vector and a JSON payload, filtered with Qdrant's
filter shape. The methods are the TypeScript client's (lib/collections/types.ts)
in snake_case. Vectors travel as JSON number arrays (the collection routes take
JSON only) and come back as float32 numpy arrays. Every write carries an
Idempotency-Key, the caller's or a new one, the same for each retry.
"""
from urllib.parse import quote

import numpy as np

from .arrays import positive
from .errors import client_error
from .transport import new_idempotency_key


def _path(name, suffix=""):
    return f"/v1/collections/{quote(name, safe='')}{suffix}"


def _vector(v, d, what):
    a = np.asarray(v, dtype="float32")
    if a.ndim != 1 or (d is not None and a.shape[0] != d):
        raise client_error(f"Expected {what} of shape ({d},) but its shape is {a.shape}", "ERR_DIMENSION", AssertionError)
    if not np.isfinite(a).all():
        raise client_error(f"{what} holds a value that is not finite (JSON cannot carry it)", "ERR_INVALID_ARGUMENT", ValueError)
    return a.tolist()


def _rows(x, what):
    a = np.asarray(x, dtype="float32")
    if a.ndim != 2:
        raise client_error(f"Expected {what} of shape (n, d) but its shape is {a.shape}", "ERR_DIMENSION", ValueError)
    if not np.isfinite(a).all():
        raise client_error(f"{what} holds a value that is not finite (JSON cannot carry it)", "ERR_INVALID_ARGUMENT", ValueError)
    return a.tolist()


def _point_of(p):
    if "vector" in p and p["vector"] is not None:
        p = dict(p, vector=np.asarray(p["vector"], dtype=np.float32))
    return p


def _options(**kw):
    return {k: v for k, v in kw.items() if v is not None}


class Collection:
    def __init__(self, transport, name):
        self._t = transport
        self.name = name

    def __repr__(self):
        return f"<faiss_proxy Collection {self.name!r}>"

    def _call(self, method, suffix, body=None, key=None):
        return self._t.request(method, _path(self.name, suffix), json_body=body, idempotency_key=key).json()

    def info(self):
        """{name, dimension, factory, metric, count, isTrained, payloadIndexes}."""
        return self._call("GET", "")

    def train(self, vectors, idempotency_key=None):
        self._call("POST", "/train", {"vectors": _rows(vectors, "vectors")}, idempotency_key or new_idempotency_key())

    def upsert(self, points, idempotency_key=None):
        """points: [{"id": str, "vector": array-like, "payload": dict or None}, ...]; returns the number upserted."""
        body = []
        for i, p in enumerate(points):
            if not isinstance(p, dict) or "id" not in p or "vector" not in p:
                raise client_error(f"points[{i}] must be a dict with id and vector", "ERR_INVALID_ARGUMENT", TypeError)
            q = {"id": p["id"], "vector": _vector(p["vector"], None, f"points[{i}].vector")}
            if "payload" in p:
                q["payload"] = p["payload"]
            body.append(q)
        return self._call("PUT", "/points", {"points": body}, idempotency_key or new_idempotency_key())["upserted"]

    def get(self, ids, with_payload=None, with_vector=None):
        body = _options(ids=list(ids), withPayload=with_payload, withVector=with_vector)
        return [_point_of(p) for p in self._call("POST", "/points/get", body)["points"]]

    def delete(self, ids=None, filter=None, idempotency_key=None):
        """By ids or by a filter (not both); returns the number deleted."""
        if (ids is None) == (filter is None):
            raise client_error("delete takes ids or filter, one of them", "ERR_INVALID_ARGUMENT", TypeError)
        body = {"ids": list(ids)} if ids is not None else {"filter": filter}
        return self._call("POST", "/points/delete", body, idempotency_key or new_idempotency_key())["deleted"]

    def count(self, filter=None):
        return self._call("POST", "/points/count", _options(filter=filter))["count"]

    def scroll(self, filter=None, limit=None, offset=None, with_payload=None, with_vector=None):
        """(points, next_offset): pass next_offset as the next call's offset; None after the last page."""
        r = self._call("POST", "/points/scroll", _options(filter=filter, limit=limit, offset=offset, withPayload=with_payload, withVector=with_vector))
        return [_point_of(p) for p in r["points"]], r["nextOffset"]

    def search(self, vector, k, filter=None, with_payload=None, with_vector=None, nprobe=None, efSearch=None):
        """Hits [{id, score, payload?, vector?}] nearest first; a 2-D array of queries gives one list per query."""
        k = positive(k, "k")
        options = _options(k=k, filter=filter, withPayload=with_payload, withVector=with_vector, nprobe=nprobe, efSearch=efSearch)
        if np.ndim(vector) == 2:
            r = self._call("POST", "/search", dict(options, vectors=_rows(vector, "vectors")))
            return [[_point_of(h) for h in hits] for hits in r["results"]]
        r = self._call("POST", "/search", dict(options, vector=_vector(vector, None, "vector")))
        return [_point_of(h) for h in r["hits"]]

    def create_payload_index(self, field, type):
        self._call("PUT", f"/payload-indexes/{quote(field, safe='')}", {"type": type}, new_idempotency_key())

    def delete_payload_index(self, field):
        self._call("DELETE", f"/payload-indexes/{quote(field, safe='')}", None, new_idempotency_key())


class Collections:
    def __init__(self, transport):
        self._t = transport

    def collection(self, name):
        """The collection (or alias) of that name; nothing is sent until it is used."""
        if not isinstance(name, str) or not name:
            raise client_error(f"Expected a collection name but received {name!r}", "ERR_INVALID_ARGUMENT", TypeError)
        return Collection(self._t, name)

    def create(self, name, dimension, factory=None, metric=None, payload_indexes=None):
        body = _options(name=name, dimension=dimension, factory=factory, metric=metric, payloadIndexes=payload_indexes)
        self._t.request("POST", "/v1/collections", json_body=body, idempotency_key=new_idempotency_key())
        return Collection(self._t, name)

    def list(self):
        return self._t.request("GET", "/v1/collections").json()["collections"]

    def delete(self, name):
        self._t.request("DELETE", _path(name), idempotency_key=new_idempotency_key())

    def create_alias(self, alias, collection):
        self._t.request("POST", "/v1/aliases", json_body={"alias": alias, "collection": collection}, idempotency_key=new_idempotency_key())

    def switch_alias(self, alias, collection):
        self._t.request("PUT", f"/v1/aliases/{quote(alias, safe='')}", json_body={"collection": collection}, idempotency_key=new_idempotency_key())

    def delete_alias(self, alias):
        self._t.request("DELETE", f"/v1/aliases/{quote(alias, safe='')}", idempotency_key=new_idempotency_key())

    def list_aliases(self):
        return self._t.request("GET", "/v1/aliases").json()["aliases"]
