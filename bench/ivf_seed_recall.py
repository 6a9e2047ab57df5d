"""IVF1024,Flat recall over k-means training seeds, for the IVF rows of npm run bench:faiss.

bench:faiss trains each side's IVF once, with FAISS's default k-means seed (1234),
and compares one recall figure per side. Two FAISS versions may train centroids
that differ in a few of 1,024 (near-tie assignments in k-means), and the seed moves
recall by far more than that: this measures the versions' difference paired over
many seeds, on bench:faiss's data (IVF1024, train on the first 50k, add all 200k,
nprobe 16, k 10), so that the one-seed comparison can be read against its noise.

Usage (each Python: a FAISS with numpy; Debian's /usr/bin/python3 has FAISS 1.7.3,
the addon's version, whose centroids are the addon's bit for bit at seed 1234):
  <python> bench/ivf_seed_recall.py run <base.f32> <queries.f32> <out.json> <seed>...
      trains, adds and searches once per seed not yet in out.json (resumable);
      writes per seed the hits of each query and the recall over the first 400
      queries (bench:faiss's one-query row) and over all (its batch row)
  python3 bench/ivf_seed_recall.py compare <a.json> <b.json>
      the seeds both hold: each side's mean and spread, and the paired difference
      a - b with its standard error
<base.f32>: bench:faiss's 200k x 128 base, <queries.f32> its 1,000 queries
(bench/lib/gaussian-mixture.ts, mixture seed 1234, base seed 1235, queries 1236).
"""
import json
import math
import os
import sys

D, K, NLIST, TRAIN, NPROBE, SINGLE = 128, 10, 1024, 50_000, 16, 400


def exact(xb, xq, cache):
    import numpy as np

    if os.path.exists(cache):
        return np.fromfile(cache, dtype="<i8").reshape(-1, K)
    b = xb.astype("float64")
    norms = (b * b).sum(1)
    out = np.empty((len(xq), K), "int64")
    for q0 in range(0, len(xq), 50):
        dist = norms[None, :] - 2.0 * (xq[q0 : q0 + 50].astype("float64") @ b.T)
        part = np.argpartition(dist, K, axis=1)[:, :K]
        out[q0 : q0 + 50] = np.take_along_axis(part, np.argsort(np.take_along_axis(dist, part, 1), axis=1), 1)
    out.astype("<i8").tofile(cache)
    return out


def run(base, queries, out_path, seeds):
    import faiss
    import numpy as np

    xb = np.fromfile(base, dtype="<f4").reshape(-1, D)
    xq = np.fromfile(queries, dtype="<f4").reshape(-1, D)
    truth = exact(xb, xq, out_path + ".exact.i64")
    out = json.load(open(out_path)) if os.path.exists(out_path) else {}
    for seed in seeds:
        if str(seed) in out:
            continue
        ivf = faiss.index_factory(D, f"IVF{NLIST},Flat")
        faiss.extract_index_ivf(ivf).cp.seed = seed
        ivf.train(xb[:TRAIN])
        ivf.add(xb)
        ivf.nprobe = NPROBE
        _, labels = ivf.search(xq, K)
        hits = [len(set(labels[i]) & set(truth[i])) for i in range(len(xq))]
        out[str(seed)] = {"faiss": faiss.__version__, "hits": hits, "recallSingle": sum(hits[:SINGLE]) / (SINGLE * K), "recallAll": sum(hits) / (len(hits) * K)}
        json.dump(out, open(out_path, "w"))
        print(faiss.__version__, "seed", seed, out[str(seed)]["recallSingle"], out[str(seed)]["recallAll"], flush=True)


def compare(a_path, b_path):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    seeds = [s for s in a if s in b]
    n = len(seeds)
    print(f"{n} seeds; a = {a[seeds[0]]['faiss']}, b = {b[seeds[0]]['faiss']}")
    for key, what in (("recallSingle", f"first {SINGLE} queries"), ("recallAll", "all queries")):
        ra, rb = [a[s][key] for s in seeds], [b[s][key] for s in seeds]
        diffs = [x - y for x, y in zip(ra, rb)]
        mean = lambda v: sum(v) / len(v)
        sd = lambda v: math.sqrt(sum((x - mean(v)) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
        se = sd(diffs) / math.sqrt(n)
        print(
            f"{what}: a {mean(ra):.5f} (sd {sd(ra):.5f}, {min(ra):.5f}-{max(ra):.5f}), b {mean(rb):.5f} (sd {sd(rb):.5f}); "
            f"a - b: mean {mean(diffs):+.6f}, standard error {se:.6f}; a higher on {sum(d > 0 for d in diffs)} seeds, "
            f"lower on {sum(d < 0 for d in diffs)}, equal on {sum(d == 0 for d in diffs)}; range {min(diffs):+.5f} to {max(diffs):+.5f}"
        )


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], [int(s) for s in sys.argv[5:]])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
