"""The python3-faiss half of bench/native.ts: times the same searches on the same bytes.

Usage: /usr/bin/python3 native_python.py '<config json>'
Reads the float32 files and the HNSW index file that bench/native.ts wrote, times
exactly what the JS side times, writes the batch labels next to the data (so JS
can check both sides found the same neighbours), and prints the figures as JSON.
"""
import json
import os
import sys
import time

import faiss
import numpy as np


def single_query_latencies(index, xq, k, cfg):
    # Same schedule as the JS side: untimed warm-up, then queries one at a time
    # (views, no copies), stopping at whichever comes first: the count or the time.
    for i in range(cfg["warmup"]):
        index.search(xq[i : i + 1], k)
    samples = []
    deadline = time.perf_counter() + cfg["singleBudgetS"]
    for i in range(cfg["singleQueries"]):
        if time.perf_counter() > deadline:
            break
        q = xq[i % len(xq) : i % len(xq) + 1]
        t0 = time.perf_counter()
        index.search(q, k)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def batch_times(index, xq, k, cfg):
    # No separate warm-up: the best of the repeats leaves out a cold first one.
    times, labels = [], None
    deadline = time.perf_counter() + cfg["batchBudgetS"]
    for _ in range(cfg["batchRepeats"]):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        _, labels = index.search(xq, k)
        times.append((time.perf_counter() - t0) * 1e3)
    return times, labels


def measure(index, xq, k, cfg, labels_path):
    single = single_query_latencies(index, xq, k, cfg)
    batch, labels = batch_times(index, xq, k, cfg)
    labels.astype("<i8").tofile(labels_path)
    return {"singleMs": single, "batchMs": batch}


def main():
    cfg = json.loads(sys.argv[1])
    d, k = cfg["d"], cfg["k"]
    default_threads = faiss.omp_get_max_threads()
    # Only differs if this process sees other cores than the addon; then match it.
    if default_threads != cfg["threads"]:
        faiss.omp_set_num_threads(cfg["threads"])

    xb = np.fromfile(cfg["basePath"], dtype="<f4").reshape(-1, d)
    xq = np.fromfile(cfg["queryPath"], dtype="<f4").reshape(-1, d)

    out = {
        "faissVersion": faiss.__version__,
        "defaultThreads": default_threads,
        "threads": faiss.omp_get_max_threads(),
    }
    # Both indexes are loaded first and kept, then searched in the order the JS side
    # uses this round: an HNSW single query runs much faster on pages just read than
    # on pages last touched before a 100 MB flat scan (measured), so the history must
    # be the same on both sides.
    hnsw = faiss.read_index(cfg["hnswPath"])
    hnsw.hnsw.efSearch = cfg["efSearch"]
    flat = faiss.IndexFlatL2(d)
    flat.add(xb)
    for kind in cfg["order"]:
        index = flat if kind == "flat" else hnsw
        out[kind] = measure(index, xq, k, cfg, os.path.join(cfg["dir"], f"python-{kind}.i64"))
        if kind == "hnsw":
            # Python's default runs a one-query search with a full OpenMP team, which
            # the binding does not (it caps the team at the query count): also time
            # what a Python user gets by asking for one thread.
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            out["hnswOneThreadSingleMs"] = single_query_latencies(hnsw, xq, k, cfg)
            faiss.omp_set_num_threads(threads)

    print(json.dumps(out))


if __name__ == "__main__":
    main()
