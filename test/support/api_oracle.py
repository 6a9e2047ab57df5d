"""Reference answers from Debian's python3-faiss (1.7.3) for test/embedded/faiss-api.

Usage: /usr/bin/python3 api_oracle.py <workdir>
Reads <workdir>/job.json: {"d": d, "arrays": {name: rows}, "tasks": [task, ...]}, the
float32 arrays <workdir>/<name>.f32 (rows x d unless the task says otherwise) and
the index files the JS side wrote; writes <workdir>/answers.json ({task name:
answer}) and, for tasks that ask, index files of its own for JS to read.
Every task runs with one OpenMP thread (FAISS's sums then happen in one order).
"""
import json
import os
import sys

import faiss
import numpy as np


def main(workdir):
    faiss.omp_set_num_threads(1)
    with open(os.path.join(workdir, "job.json")) as f:
        job = json.load(f)
    d = job["d"]

    def array(name, dim=d):
        return np.fromfile(os.path.join(workdir, name + ".f32"), dtype="float32").reshape(-1, dim)

    def knn_answer(D, I):
        return {"distances": D.ravel().tolist(), "labels": I.ravel().tolist()}

    answers = {}
    for t in job["tasks"]:
        kind, name = t["kind"], t["name"]
        if kind == "flat-metric":
            # IndexFlat and IndexHNSWFlat with a metric, Lp's p set on the index (and HNSW's storage).
            xb, xq = array(t["xb"]), array(t["xq"])
            index = faiss.IndexFlat(d, t["metric"]) if t["type"] == "flat" else faiss.IndexHNSWFlat(d, t["M"], t["metric"])
            if "metricArg" in t:
                index.metric_arg = t["metricArg"]
                if t["type"] == "hnsw":
                    index.storage.metric_arg = t["metricArg"]
            index.add(xb)
            answers[name] = knn_answer(*index.search(xq, t["k"]))
            if "write" in t:
                faiss.write_index(index, os.path.join(workdir, t["write"]))
        elif kind == "write-factory":
            # An index file of a type FAISS builds with any metric, for JS to read (or refuse).
            faiss.write_index(faiss.index_factory(d, t["factory"], t["metric"]), os.path.join(workdir, t["write"]))
        elif kind == "read-search":
            # Search an index file the JS side wrote.
            index = faiss.read_index(os.path.join(workdir, t["file"]))
            xq = array(t["xq"], index.d)
            if "kFactor" in t:
                answers[name + ":kFactor"] = float(faiss.downcast_index(index).k_factor)
            answers[name] = knn_answer(*index.search(xq, t["k"]))
        elif kind == "search-and-reconstruct":
            index = faiss.read_index(os.path.join(workdir, t["file"]))
            xq = array(t["xq"], index.d)
            D, I, R = index.search_and_reconstruct(xq, t["k"])
            answers[name] = {"distances": D.ravel().tolist(), "labels": I.ravel().tolist(),
                             "vectors": [None if np.isnan(v) else float(v) for v in R.ravel()]}
        elif kind == "assign":
            index = faiss.read_index(os.path.join(workdir, t["file"]))
            answers[name] = index.assign(array(t["xq"], index.d), t["k"]).ravel().tolist()
        elif kind == "knn":
            D, I = faiss.knn(array(t["xq"]), array(t["xb"]), t["k"], t["metric"])
            answers[name] = knn_answer(D, I)
        elif kind == "pairwise":
            xq, xb = array(t["xq"]), array(t["xb"])
            if t["metric"] == faiss.METRIC_INNER_PRODUCT:
                dis = xq @ xb.T  # faiss 1.7.3's pairwise_distances has no inner product
            else:
                dis = faiss.pairwise_distances(xq, xb, t["metric"], t.get("metricArg", 0))
            answers[name] = dis.ravel().tolist()
        elif kind == "normalize":
            x = array(t["x"]).copy()
            faiss.normalize_L2(x)
            answers[name] = x.ravel().tolist()
        elif kind == "kmeans":
            km = faiss.Kmeans(d, t["k"], **t["params"])
            km.train(array(t["x"]))
            answers[name] = {"centroids": km.centroids.ravel().tolist(), "obj": km.obj.tolist(),
                             "assign": km.index.search(array(t["xq"]), 1)[1].ravel().tolist()}
        elif kind == "transform":
            cls = getattr(faiss, t["cls"])
            vt = cls(*t["args"])
            if "seed" in t:
                vt.init(t["seed"])
            else:
                vt.train(array(t["train"]))
            y = vt.apply_py(array(t["x"]))
            answers[name] = {"apply": y.ravel().tolist()}
            if t.get("reverse"):
                answers[name]["reverse"] = vt.reverse_transform(y).ravel().tolist()
        else:
            raise ValueError("unknown task " + kind)

    with open(os.path.join(workdir, "answers.json"), "w") as f:
        json.dump(answers, f)


if __name__ == "__main__":
    main(sys.argv[1])
