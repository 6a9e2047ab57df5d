"""Reference results from Debian's python3-faiss, for the conformance test.

Usage: /usr/bin/python3 oracle.py <workdir>
Reads <workdir>/spec.json and the float32 files it names, builds every case the
same way the JS side does, and writes <workdir>/python.json; it also reads the
index file the JS side wrote for each case and writes its own for JS to read.
"""
import json
import os
import sys

import faiss
import numpy as np


def load(workdir, name, d):
    return np.fromfile(os.path.join(workdir, name), dtype="float32").reshape(-1, d)


def build(desc, d):
    metric = desc.get("metric", faiss.METRIC_L2)
    cls = desc.get("cls")
    if "factory" in desc:
        return faiss.index_factory(d, desc["factory"], metric)
    if cls == "IndexFlatL2":
        return faiss.IndexFlatL2(d)
    if cls == "IndexFlatIP":
        return faiss.IndexFlatIP(d)
    if cls == "IndexIVFFlat":
        q = faiss.IndexFlat(d, metric)
        index = faiss.IndexIVFFlat(q, d, desc["nlist"], metric)
        index.own_fields = True
        q.this.disown()
        return index
    if cls == "IndexIVFPQ":
        q = faiss.IndexFlat(d, metric)
        index = faiss.IndexIVFPQ(q, d, desc["nlist"], desc["m"], desc["nbits"], metric)
        index.own_fields = True
        q.this.disown()
        return index
    if cls == "IndexHNSWFlat":
        return faiss.IndexHNSWFlat(d, desc["M"], metric)
    if cls == "IndexPQ":
        return faiss.IndexPQ(d, desc["M"], desc["nbits"], metric)
    if cls == "IndexScalarQuantizer":
        return faiss.IndexScalarQuantizer(d, desc["qtype"], metric)
    if cls in ("IndexIDMap", "IndexIDMap2"):
        inner = build(desc["inner"], d)
        index = getattr(faiss, cls)(inner)
        index.own_fields = True
        inner.this.disown()
        return index
    raise ValueError("unknown case " + json.dumps(desc))


def attempt(fn):
    """Runs fn; returns its value, or {"error": message} when FAISS refuses."""
    try:
        return fn()
    except RuntimeError as e:
        return {"error": str(e).splitlines()[-1][:200]}


def search_result(index, xq, k, tunables):
    set_tunables(index, tunables)
    D, I = index.search(xq, k)
    return {"distances": D.ravel().tolist(), "labels": I.ravel().tolist()}


def set_tunables(index, tunables):
    ps = faiss.ParameterSpace()
    for key, value in tunables.items():
        ps.set_index_parameter(index, key, value)


def range_result(index, xq, radius, tunables):
    set_tunables(index, tunables)
    lims, D, I = index.range_search(xq, radius)
    return {"lims": lims.tolist(), "distances": D.tolist(), "labels": I.tolist()}


def run_case(case, workdir, d, xt, xb, xq, ids):
    index = build(case["build"], d)
    tunables = case.get("tunables", {})
    out = {}
    if not index.is_trained:
        index.train(xt)
    if case.get("withIds"):
        index.add_with_ids(xb, ids)
    else:
        index.add(xb)
    if case.get("directMap"):
        faiss.extract_index_ivf(index).make_direct_map()
    out["ntotal"] = index.ntotal
    out["search"] = search_result(index, xq, case["k"], tunables)
    out["radius"] = float(np.median(np.array(out["search"]["distances"]).reshape(len(xq), -1)[:, case["k"] // 2]))
    out["range"] = attempt(lambda: range_result(index, xq, out["radius"], tunables))
    out["reconstruct"] = attempt(lambda: [index.reconstruct(int(i)).tolist() for i in case["reconstructIds"]])
    # The index file written by JS: read it here, search it the same way.
    js_file = os.path.join(workdir, "js-" + case["name"] + ".index")
    out["readJsFile"] = search_result(faiss.read_index(js_file), xq, case["k"], tunables)
    faiss.write_index(index, os.path.join(workdir, "py-" + case["name"] + ".index"))
    out["serializedRoundTrip"] = search_result(
        faiss.deserialize_index(faiss.serialize_index(index)), xq, case["k"], tunables
    )
    removed = attempt(lambda: int(index.remove_ids(np.array(case["removeIds"], dtype="int64"))))
    out["removed"] = removed
    if not isinstance(removed, dict):
        out["ntotalAfterRemove"] = index.ntotal
        out["searchAfterRemove"] = search_result(index, xq, case["k"], tunables)
    return out


def main():
    workdir = sys.argv[1]
    faiss.omp_set_num_threads(1)  # HNSW construction is only deterministic on one thread
    with open(os.path.join(workdir, "spec.json")) as f:
        spec = json.load(f)
    d = spec["d"]
    xt, xb, xq = (load(workdir, n, d) for n in ("xt.f32", "xb.f32", "xq.f32"))
    ids = np.array(spec["ids"], dtype="int64")
    results = {case["name"]: run_case(case, workdir, d, xt, xb, xq, ids) for case in spec["cases"]}
    with open(os.path.join(workdir, "python.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
