"""Single-query HNSW search over HTTP from Python (issue 22's benchmark, not a test):
the Python client (clients/python, faiss_proxy: binary bodies, keep-alive)
against the proxy, and the seed's design (bench/fastapi/server.py: FastAPI with
JSON bodies, one uvicorn worker, queried with `requests` and JSON), on the same
index file, at 1 and 8 client threads of one Python process; and the same
search in process with python3-faiss, for scale. Target: the client >= 3x the
seed design's throughput at 8 threads.

Run: npm run bench:python [-- --n 20000 --d 64 --cell-s 3 --rounds 3]
Needs /usr/bin/python3 with python3-faiss, python3-requests, python3-fastapi and
python3-uvicorn (Debian), and dist/ built (npm run build:ts does it).
On a shared machine the load drifts: the two servers take turns, cell by cell,
in alternating order, and the report is each one's median over the rounds;
the load average is printed before and after.
"""
import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import faiss
import numpy as np
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

import faiss_proxy  # noqa: E402


def new_key():
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"fp_{secrets.token_hex(8)}_{secret}"


def start(args, env=None):
    """A server process and the URL it prints ('listening on http://...')."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].split()[0]
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, url
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError(f"{args[:2]} did not start")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_cell(search_one, xq, threads, seconds):
    """Queries per second of `threads` threads each calling search_one(q) in a loop for `seconds`."""
    counts = [0] * threads
    stop_at = [0.0]
    started = threading.Barrier(threads + 1)

    def worker(t):
        i = t
        started.wait()
        while time.perf_counter() < stop_at[0]:
            search_one(xq[i % len(xq) : i % len(xq) + 1])
            i += threads
            counts[t] += 1

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for p in pool:
        p.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    started.wait()
    for p in pool:
        p.join()
    return sum(counts) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ef-search", type=int, default=64)
    ap.add_argument("--cell-s", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,8")
    o = ap.parse_args()
    thread_counts = [int(t) for t in o.threads.split(",")]
    print(f"load average before: {os.getloadavg()}", flush=True)

    rs = np.random.RandomState(0)
    xb = rs.rand(o.n, o.d).astype("float32")
    xq = rs.rand(1000, o.d).astype("float32")
    tmp = tempfile.mkdtemp(prefix="bench-python-client-")
    procs = []
    try:
        t0 = time.time()
        index = faiss.IndexHNSWFlat(o.d, 32)
        index.add(xb)
        path = os.path.join(tmp, "hnsw.faissindex")
        faiss.write_index(index, path)
        print(f"HNSW32 {o.n} x {o.d} built in {time.time() - t0:.1f} s; k {o.k}, efSearch {o.ef_search} per request", flush=True)

        admin = new_key()
        env = dict(os.environ, FAISS_PROXY_ADMIN_KEY=admin)
        cli = os.path.join(ROOT, "dist", "service", "cli.js")
        proxy_proc, proxy_url = start(["node", cli, "serve", "--port", "0", "--data-dir", os.path.join(tmp, "data"), "--fsync", "false", "--log-level", "silent"], env)
        procs.append(proxy_proc)
        remote = faiss_proxy.connect(url=proxy_url, api_key=admin).read_index(path, name="hnsw")
        remote.hnsw.efSearch = o.ef_search

        seed_key = new_key()
        seed_proc, seed_url = start([sys.executable, os.path.join(ROOT, "bench", "fastapi", "server.py"), path, seed_key])
        procs.append(seed_proc)
        local_sessions = threading.local()

        def seed_search(q):
            # The seed's client: requests with a JSON body, answers read back into arrays.
            s = getattr(local_sessions, "s", None)
            if s is None:
                s = local_sessions.s = requests.Session()
            r = s.post(f"{seed_url}/v1/indexes/hnsw/search", json={"vectors": q.tolist(), "k": o.k, "efSearch": o.ef_search}, headers={"X-API-Key": seed_key})
            r.raise_for_status()
            body = r.json()
            return np.array(body["distances"], dtype="float32"), np.array(body["labels"], dtype="int64")

        targets = {
            "faiss_proxy client -> proxy (binary)": lambda q: remote.search(q, o.k),
            "seed: requests + JSON -> FastAPI": seed_search,
            "python3-faiss in process": lambda q: index.search(q, o.k),
        }
        # Each answers what python3-faiss answers. The seed's server passes efSearch as
        # SearchParametersHNSW, which python3-faiss 1.7.3 searches differently from
        # index.hnsw.efSearch (other, often worse, results at efSearch 64); the proxy
        # and the in-process search take index.hnsw.efSearch's.
        _, i_seed = seed_search(xq[:8])
        _, i_params = index.search(xq[:8], o.k, params=faiss.SearchParametersHNSW(efSearch=o.ef_search))
        index.hnsw.efSearch = o.ef_search
        _, i_proxy = remote.search(xq[:8], o.k)
        _, i_local = index.search(xq[:8], o.k)
        assert (i_proxy == i_local).all() and (i_seed == i_params).all(), (i_proxy, i_local, i_seed, i_params)

        cells = {}
        for threads in thread_counts:
            for name in targets:
                run_cell(targets[name], xq, threads, min(1.0, o.cell_s))  # warm-up
            for r in range(o.rounds):
                order = list(targets) if r % 2 == 0 else list(reversed(targets))
                for name in order:
                    qps = run_cell(targets[name], xq, threads, o.cell_s)
                    cells.setdefault((name, threads), []).append(qps)
                    print(f"  round {r + 1}, {threads} threads, {name}: {qps:,.0f} q/s", flush=True)

        print()
        print(f"median q/s over {o.rounds} rounds of {o.cell_s} s (one Python process; its threads share the GIL):")
        header = f"{'target':40s}" + "".join(f"{f'{t} thread' + ('s' if t > 1 else ''):>14s}" for t in thread_counts)
        print(header)
        medians = {key: statistics.median(v) for key, v in cells.items()}
        for name in targets:
            print(f"{name:40s}" + "".join(f"{medians[(name, t)]:>14,.0f}" for t in thread_counts))
        ratios = {t: medians[("faiss_proxy client -> proxy (binary)", t)] / medians[("seed: requests + JSON -> FastAPI", t)] for t in thread_counts}
        print("client / seed: " + ", ".join(f"{r:.2f}x at {t} thread{'s' if t > 1 else ''}" for t, r in ratios.items()) + " (target: >= 3x at 8)")
        print(f"load average after: {os.getloadavg()}")
        print(json.dumps({"n": o.n, "d": o.d, "k": o.k, "efSearch": o.ef_search, "medianQps": {f"{n} @{t}": round(q) for (n, t), q in medians.items()}, "ratios": ratios}))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
