"""Answers of Debian's python3-faiss for the factory-string table
(test/embedded/factory-table.test.ts).

Usage: /usr/bin/python3 factory_table_oracle.py <workdir>
Reads <workdir>/spec.json, xb.f32, xq.f32 and, for each row i, the index files JS
wrote: js-<i>.index (trained and filled) and js-trained-<i>.index (trained,
empty). Writes <workdir>/python.json and py-<i>.index.

Training (k-means, PQ codebooks, PCA, OPQ) and HNSW's graph depend on rounding,
which differs between the addon's FAISS (compiled for this CPU) and Debian's, so
every row is compared on the state JS trained: Python searches the index JS
built, and adds the same vectors to the index JS trained (its own add, written
for JS to read). A row that needs no training and has no graph is also built
here from scratch ("scratch").
"""
import json
import os
import sys

import faiss
import numpy as np


def search_all(index, xq, k, settings):
    """One answer per setting: {} (the index's own), {"nprobe": n}, {"efSearch": n}."""
    out = []
    ps = faiss.ParameterSpace()
    for tunables in settings:
        for key, value in tunables.items():
            ps.set_index_parameter(index, key, value)
        D, I = index.search(xq, k)
        out.append({"distances": D.ravel().tolist(), "labels": I.ravel().tolist()})
    return out


def add(index, row, xb, ids):
    if row["withIds"]:
        index.add_with_ids(xb, ids)
    else:
        index.add(xb)


def main():
    workdir = sys.argv[1]
    faiss.omp_set_num_threads(1)  # HNSW construction is only deterministic on one thread
    with open(os.path.join(workdir, "spec.json")) as f:
        spec = json.load(f)
    d, k = spec["d"], spec["k"]
    load = lambda name: np.fromfile(os.path.join(workdir, name), dtype="float32").reshape(-1, d)
    xt, xb, xq = load("xt.f32"), load("xb.f32"), load("xq.f32")
    ids = np.array(spec["ids"], dtype="int64")
    results = []
    for i, row in enumerate(spec["rows"]):
        settings = row["settings"]
        own = faiss.index_factory(d, row["factory"], row["metric"])
        out = {"type": type(own).__name__}
        # The settings as Python sets them, one after the other as JS does.
        out["jsFile"] = search_all(faiss.read_index(os.path.join(workdir, "js-%d.index" % i)), xq, k, settings)
        added = faiss.read_index(os.path.join(workdir, "js-trained-%d.index" % i))
        add(added, row, xb, ids)
        faiss.write_index(added, os.path.join(workdir, "py-%d.index" % i))
        out["pyFile"] = search_all(faiss.read_index(os.path.join(workdir, "py-%d.index" % i)), xq, k, settings)
        if row["scratch"]:
            if not own.is_trained:
                own.train(xt)
            add(own, row, xb, ids)
            out["scratch"] = search_all(own, xq, k, settings)
        results.append(out)
    with open(os.path.join(workdir, "python.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
