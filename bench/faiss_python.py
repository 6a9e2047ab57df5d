"""The Python FAISS side of npm run bench:faiss (pip's faiss-cpu, or Debian's python3-faiss).

Usage: <python> faiss_python.py run '<SideConfig json>'
           One round, step for step what bench/lib/faiss-addon-side.ts does with
           the addon; prints a SideResult (bench/lib/faiss-rows.ts) as JSON.
       <python> faiss_python.py groundtruth '<json>'
           The exact k nearest neighbours of every query, in float64 with numpy
           (no FAISS involved), for each base size asked; writes int64 labels.
       <python> faiss_python.py version
           Prints {"faissVersion", "build"} and exits.
"""
import json
import sys
import time

import numpy as np


def faiss_build(faiss):
    """What this FAISS was compiled with, and the SIMD level it runs at: pip's wheels
    (FAISS 1.13 and later) hold several and dispatch at run time."""
    opts = faiss.get_compile_options().strip()
    simd = getattr(faiss, "SIMDConfig", None)
    if simd is not None and hasattr(simd, "get_level_name"):
        return f"{opts}; running {simd.get_level_name()}"
    return opts


def labels_file(prefix, kind, what):
    return f"{prefix}{kind}-{what}.i64"


def time_single_queries(index, xq, cfg, kind):
    s = cfg["schedules"][kind]
    k, nq = cfg["shape"]["k"], cfg["shape"]["nq"]
    for i in range(s["warmup"]):
        j = nq - 1 - (i % nq)
        index.search(xq[j : j + 1], k)
    single_ms = []
    single_labels = np.zeros((min(s["singleQueries"], nq), k), dtype="<i8")
    deadline = time.perf_counter() + s["singleBudgetS"]
    for i in range(s["singleQueries"]):
        if time.perf_counter() >= deadline:
            break
        q = xq[i % nq : i % nq + 1]
        t0 = time.perf_counter()
        _, labels = index.search(q, k)
        single_ms.append((time.perf_counter() - t0) * 1e3)
        if i < nq:
            single_labels[i] = labels[0]
    single_labels[: min(len(single_ms), nq)].tofile(labels_file(cfg["labelsPrefix"], kind, "single"))
    return single_ms


def time_searches(faiss, index, xq, cfg, kind):
    s = cfg["schedules"][kind]
    k = cfg["shape"]["k"]
    single_ms = time_single_queries(index, xq, cfg, kind)
    # FAISS runs one query with the whole OpenMP team where it parallelises inside a
    # query (pip's flat search does), which on a busy machine can be slower than one
    # thread: also time what a Python user gets by asking for one.
    one_thread_ms = None
    if cfg["threads"] > 1:
        faiss.omp_set_num_threads(1)
        one_thread_ms = time_single_queries(index, xq, cfg, kind)
        faiss.omp_set_num_threads(cfg["threads"])

    batch_ms = []
    deadline = time.perf_counter() + s["batchBudgetS"]
    for r in range(s["batchRepeats"]):
        if time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        _, labels = index.search(xq, k)
        batch_ms.append((time.perf_counter() - t0) * 1e3)
        if r == 0:
            labels.astype("<i8").tofile(labels_file(cfg["labelsPrefix"], kind, "batch"))
    times = {"singleMs": single_ms, "batchMs": batch_ms}
    if one_thread_ms is not None:
        times["singleOneThreadMs"] = one_thread_ms
    return times


def run(cfg):
    import faiss

    shape = cfg["shape"]
    d, nb, nq = shape["d"], shape["nb"], shape["nq"]
    faiss.omp_set_num_threads(cfg["threads"])
    xb = np.fromfile(cfg["basePath"], dtype="<f4", count=nb * d).reshape(nb, d)
    xq = np.fromfile(cfg["queryPath"], dtype="<f4", count=nq * d).reshape(nq, d)
    only = cfg["only"]
    # An index left out (--only) has no samples and no build time (null).
    search = {kind: {"singleMs": [], "batchMs": []} for kind in ("flat", "hnsw", "ivf")}

    if "flat" in only:
        flat = faiss.IndexFlatL2(d)
        flat.add(xb)
        search["flat"] = time_searches(faiss, flat, xq, cfg, "flat")
        del flat

    hnsw_build_ms = hnsw_build_cpu_ms = None
    if "hnsw" in only:
        t0, cpu0 = time.perf_counter(), time.process_time()
        hnsw = faiss.IndexHNSWFlat(d, shape["hnswM"])
        hnsw.hnsw.efConstruction = shape["efConstruction"]
        hnsw.add(xb[: shape["hnswN"]])
        hnsw_build_ms = (time.perf_counter() - t0) * 1e3
        hnsw_build_cpu_ms = (time.process_time() - cpu0) * 1e3
        hnsw.hnsw.efSearch = shape["efSearch"]
        search["hnsw"] = time_searches(faiss, hnsw, xq, cfg, "hnsw")
        del hnsw

    ivf_build_ms = ivf_build_cpu_ms = None
    if "ivf" in only:
        t0, cpu0 = time.perf_counter(), time.process_time()
        ivf = faiss.index_factory(d, f"IVF{shape['ivfNlist']},Flat")
        ivf.cp.seed = cfg["ivfSeed"]
        ivf.train(xb[: shape["ivfTrainN"]])
        ivf.add(xb)
        ivf_build_ms = (time.perf_counter() - t0) * 1e3
        ivf_build_cpu_ms = (time.process_time() - cpu0) * 1e3
        ivf.nprobe = shape["nprobe"]
        search["ivf"] = time_searches(faiss, ivf, xq, cfg, "ivf")
        del ivf

    print(
        json.dumps(
            {
                "faissVersion": faiss.__version__,
                "build": faiss_build(faiss),
                "threads": faiss.omp_get_max_threads(),
                "buildMs": {"hnsw": hnsw_build_ms, "ivf": ivf_build_ms},
                "buildCpuMs": {"hnsw": hnsw_build_cpu_ms, "ivf": ivf_build_cpu_ms},
                "search": search,
            }
        )
    )


def groundtruth(cfg):
    """cfg: d, k, queryPath, nq, basePath, bases: [{n, out}]. Exact L2 in float64, by blocks of queries."""
    d, k, nq = cfg["d"], cfg["k"], cfg["nq"]
    xq = np.fromfile(cfg["queryPath"], dtype="<f4", count=nq * d).reshape(nq, d).astype(np.float64)
    nb_max = max(b["n"] for b in cfg["bases"])
    xb_all = np.fromfile(cfg["basePath"], dtype="<f4", count=nb_max * d).reshape(nb_max, d).astype(np.float64)
    for base in cfg["bases"]:
        xb = xb_all[: base["n"]]
        norms = (xb * xb).sum(axis=1)
        out = np.empty((nq, k), dtype="<i8")
        for q0 in range(0, nq, 100):
            q = xq[q0 : q0 + 100]
            dist = norms[None, :] - 2.0 * (q @ xb.T)  # + |q|^2, the same for every candidate
            part = np.argpartition(dist, k, axis=1)[:, :k]
            order = np.take_along_axis(dist, part, axis=1).argsort(axis=1, kind="stable")
            out[q0 : q0 + 100] = np.take_along_axis(part, order, axis=1)
        out.tofile(base["out"])


def main():
    mode = sys.argv[1]
    if mode == "version":
        import faiss

        print(json.dumps({"faissVersion": faiss.__version__, "build": faiss_build(faiss), "python": sys.executable}))
    elif mode == "run":
        run(json.loads(sys.argv[2]))
    elif mode == "groundtruth":
        groundtruth(json.loads(sys.argv[2]))
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
