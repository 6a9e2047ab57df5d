"""Searches an index file with Debian's python3-faiss, for the kernel tests.

Usage: /usr/bin/python3 search_file_oracle.py <spec.json>
spec: {"index": path, "queries": path (float32), "d": int, "k": int, "nprobe": int or null,
       "threads": int, "out": path, "oneByOne": bool (optional: each query searched alone)}.
Writes {"distances": [...], "labels": [...]} to "out".
"""
import json
import sys

import faiss
import numpy as np


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    faiss.omp_set_num_threads(spec["threads"])
    index = faiss.read_index(spec["index"])
    if spec.get("nprobe") is not None:
        faiss.ParameterSpace().set_index_parameter(index, "nprobe", spec["nprobe"])
    xq = np.fromfile(spec["queries"], dtype="float32").reshape(-1, spec["d"])
    if spec.get("oneByOne"):
        results = [index.search(xq[i : i + 1], spec["k"]) for i in range(xq.shape[0])]
        D = np.concatenate([r[0] for r in results])
        I = np.concatenate([r[1] for r in results])
    else:
        D, I = index.search(xq, spec["k"])
    with open(spec["out"], "w") as f:
        json.dump({"distances": D.ravel().tolist(), "labels": I.ravel().tolist()}, f)


if __name__ == "__main__":
    main()
