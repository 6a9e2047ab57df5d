"""Reference results from Debian's python3-faiss for the binary indexes.

Usage: /usr/bin/python3 binary_oracle.py <workdir>
Reads <workdir>/spec.json ({"d", "k", "radius", "cases": [...]}) and the uint8
code files it names (xb.u8, xq.u8, xt.u8), and writes <workdir>/python.json.

Hamming distances are integers, so both sides must agree exactly. Training a
binary IVF runs k-means on floats, which two FAISS builds round differently, so
for IVF Python works on the state JS trained: it reads js-trained-<name>.index
(trained, empty), adds the same codes and searches. HNSW builds the same graph
from the same codes when both sides add on one thread. For every case it also
reads the index JS wrote (js-<name>.index) and answers from it, and writes its own
(py-<name>.index) for JS to read.
"""
import json
import os
import sys

import faiss
import numpy as np


def codes(workdir, name, code_size):
    return np.fromfile(os.path.join(workdir, name), dtype="uint8").reshape(-1, code_size)


def knn(index, xq, k, tunables):
    set_tunables(index, tunables)
    D, I = index.search(xq, k)
    return {"distances": D.ravel().tolist(), "labels": I.ravel().tolist()}


def rng(index, xq, radius, tunables):
    set_tunables(index, tunables)
    lims, D, I = index.range_search(xq, radius)
    return {"lims": lims.tolist(), "distances": [int(v) for v in D.tolist()], "labels": I.tolist()}


def set_tunables(index, tunables):
    if "nprobe" in tunables:
        index.nprobe = tunables["nprobe"]
    if "efSearch" in tunables:
        index.hnsw.efSearch = tunables["efSearch"]


def build(case, d, workdir):
    cls = case.get("cls")
    if cls == "IndexBinaryFlat":
        return faiss.IndexBinaryFlat(d)
    if cls == "IndexBinaryHNSW":
        return faiss.IndexBinaryHNSW(d, case["M"])
    if cls == "IndexBinaryIVF" or case.get("trained"):
        return faiss.read_index_binary(os.path.join(workdir, "js-trained-%s.index" % case["name"]))
    return faiss.index_binary_factory(d, case["factory"])


def main(workdir):
    faiss.omp_set_num_threads(1)
    with open(os.path.join(workdir, "spec.json")) as f:
        spec = json.load(f)
    d, k, radius = spec["d"], spec["k"], spec["radius"]
    xb = codes(workdir, "xb.u8", d // 8)
    xq = codes(workdir, "xq.u8", d // 8)
    out = {}
    for case in spec["cases"]:
        name, tunables = case["name"], case.get("tunables", {})
        index = build(case, d, workdir)
        if "efConstruction" in case:
            index.hnsw.efConstruction = case["efConstruction"]
        index.add(xb)
        result = {"ntotal": index.ntotal, "search": knn(index, xq, k, tunables)}
        if case.get("range"):
            result["range"] = rng(index, xq, radius, tunables)
        result["reconstruct"] = [index.reconstruct(i).tolist() for i in case.get("reconstruct", [])]
        faiss.write_index_binary(index, os.path.join(workdir, "py-%s.index" % name))
        theirs = faiss.read_index_binary(os.path.join(workdir, "js-%s.index" % name))
        result["jsFile"] = {"typeName": type(theirs).__name__, "search": knn(theirs, xq, k, tunables)}
        out[name] = result
    with open(os.path.join(workdir, "python.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1])
