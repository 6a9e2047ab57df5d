"""The python3-faiss half of one in-process case of bench/harness.ts.

Usage: /usr/bin/python3 harness_python.py '<case json>'
Builds the case's index from the float32 file that bench/harness.ts wrote, the
same way bench/lib/case-worker.ts builds it with the binding, then times the
same searches with the same schedule.
Progress goes to stdout as JSON lines: {"event": "loaded"}, {"event": "built"},
then {"event": "result", ...}; an HNSW build that would overrun the case's
budget stops early with {"event": "skipped", ...}. The harness kills the
process if the build overruns anyway.
"""
import json
import sys
import time

import faiss
import numpy as np


def single_query_latencies(index, xq, k, cfg):
    # Same schedule as the JS side (measureSearch, bench/lib/common.ts): untimed
    # warm-up, then queries one at a time (views, no copies), stopping at whichever
    # comes first: the count or the time.
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


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def hnsw_add(index, xb, budget_s, chunk):
    """Adds in chunks; stops once the projected total passes the budget (same rule as the JS side)."""
    n = len(xb)
    t0 = time.perf_counter()
    added = 0
    while added < n:
        end = min(n, added + chunk)
        index.add(xb[added:end])
        added = end
        elapsed = time.perf_counter() - t0
        # Inserting gets slower as the graph grows (about log n); 1.2 covers that.
        projected = elapsed / added * n * (1.2 if added < n else 1.0)
        if added < n and projected > budget_s:
            return added, projected
    return added, None


def main():
    cfg = json.loads(sys.argv[1])
    d, n, k, kind = cfg["d"], cfg["n"], cfg["k"], cfg["kind"]
    default_threads = faiss.omp_get_max_threads()
    if default_threads != cfg["threads"]:
        faiss.omp_set_num_threads(cfg["threads"])

    xb = np.fromfile(cfg["basePath"], dtype="<f4", count=n * d).reshape(n, d)
    xq = np.fromfile(cfg["queryPath"], dtype="<f4", count=cfg["nq"] * d).reshape(-1, d)
    emit("loaded")

    t0 = time.perf_counter()
    train_s = None
    quantizer = None  # Python indexes keep a reference to their quantizer, not a copy
    if kind == "Flat":
        index = faiss.IndexFlatL2(d)
        index.add(xb)
    elif kind in ("IVFFlat", "IVFPQ"):
        quantizer = faiss.IndexFlatL2(d)
        if kind == "IVFFlat":
            index = faiss.IndexIVFFlat(quantizer, d, cfg["nlist"])
        else:
            index = faiss.IndexIVFPQ(quantizer, d, cfg["nlist"], cfg["pqM"], 8)
        index.train(xb[: cfg["ntrain"]])
        train_s = time.perf_counter() - t0
        index.add(xb)
        index.nprobe = cfg["nprobe"]
    elif kind == "HNSW32":
        index = faiss.IndexHNSWFlat(d, 32)
        index.hnsw.efConstruction = cfg["efConstruction"]
        added, projected = hnsw_add(index, xb, cfg["budgetS"], cfg["hnswChunk"])
        if projected is not None:
            emit("skipped", reason="budget", added=added, projectedS=projected, elapsedS=time.perf_counter() - t0)
            return
        index.hnsw.efSearch = cfg["efSearch"]
    else:
        raise SystemExit(f"unknown kind {kind}")
    build_s = time.perf_counter() - t0
    emit("built", buildS=build_s)

    schedule = cfg["schedule"]
    single = single_query_latencies(index, xq, k, schedule)
    batch, _ = batch_times(index, xq, k, schedule)
    emit(
        "result",
        buildS=build_s,
        trainS=train_s,
        singleMs=single,
        batchMs=batch,
        ntotal=int(index.ntotal),
        faissVersion=faiss.__version__,
        threads=faiss.omp_get_max_threads(),
        defaultThreads=default_threads,
    )


if __name__ == "__main__":
    main()
