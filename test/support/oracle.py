"""Reference results from Debian's python3-faiss, for the conformance test.

Usage: /usr/bin/python3 oracle.py <workdir>
Reads <workdir>/spec.json and the float32 files it names and writes
<workdir>/python.json; for every case it also reads the index file the JS side
wrote and writes one of its own for JS to read.

Training (k-means, PQ codebooks, PCA) and HNSW's graph depend on floating-point
rounding: the addon's FAISS is compiled for this CPU (FMA, vector sums) and Debian's
python3-faiss for the x86-64 baseline, so near-tie assignments flip and the two
trainings end in different, equally good states. So for a case with "shared": true,
Python works on the state JS trained: every answer it reports comes from the index
JS built (read from js-<name>.index), it adds the same vectors to the index JS
trained but left empty (js-trained-<name>.index) and checks it stores what JS
stored, and it judges JS's training by its quality against its own training of
the same data. Cases without training are built here from scratch.
"""
import json
import os
import sys

import faiss
import numpy as np

# Two FAISS builds' float32 results differ in the last bits; a difference this small
# (relative to the values compared) is rounding, and decisions taken on it are ties.
TIE_TOLERANCE = 1e-5


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


def add(index, case, xb, ids):
    if case.get("withIds"):
        index.add_with_ids(xb, ids)
    else:
        index.add(xb)
    if case.get("directMap"):
        faiss.extract_index_ivf(index).make_direct_map()


# --- the state JS trained ------------------------------------------------------------


def internal(index):
    """The index that holds the vectors under their sequential internal ids."""
    index = faiss.downcast_index(index)
    if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        return faiss.downcast_index(index.index)
    return index


def transformed(index, x):
    """x as the index inside an IndexPreTransform sees it (x itself for other indexes)."""
    top = faiss.downcast_index(index)
    if isinstance(top, faiss.IndexPreTransform):
        for i in range(top.chain.size()):
            x = top.chain.at(i).apply_py(x)
    return x


def centroid_scores(ivf, x):
    """Every vector's distance (L2) or inner product (IP) to every centroid, in float64."""
    c = ivf.quantizer.reconstruct_n(0, ivf.nlist).astype("float64")
    x = x.astype("float64")
    if ivf.metric_type == faiss.METRIC_INNER_PRODUCT:
        return x @ c.T
    return (x * x).sum(1)[:, None] + (c * c).sum(1)[None, :] - 2 * x @ c.T


def list_assignment(ivf):
    out = np.full(ivf.ntotal, -1, dtype="int64")
    for list_no in range(ivf.nlist):
        n = ivf.invlists.list_size(list_no)
        if n:
            out[faiss.rev_swig_ptr(ivf.invlists.get_ids(list_no), n)] = list_no
    return out


def tied(a, b, scale):
    return abs(a - b) <= TIE_TOLERANCE * max(1.0, abs(scale))


def add_differences(js_built, py_added, xb):
    """Where Python's add to the index JS trained stored something else than JS's add.

    An IVF list may differ only where the vector is as close to both centroids (a
    tie); a code may differ only where it decodes to a vector as far from the
    original (a tie between codewords)."""
    out = []
    if js_built.ntotal != py_added.ntotal:
        return ["ntotal %d vs %d" % (js_built.ntotal, py_added.ntotal)]
    same_list = np.ones(len(xb), dtype=bool)
    ivf_js = faiss.try_extract_index_ivf(js_built)
    if ivf_js is not None:
        ivf_py = faiss.try_extract_index_ivf(py_added)
        lists_js, lists_py = list_assignment(ivf_js), list_assignment(ivf_py)
        scores = centroid_scores(ivf_js, transformed(js_built, xb))
        for i in np.nonzero(lists_js != lists_py)[0]:
            a, b = scores[i, lists_js[i]], scores[i, lists_py[i]]
            if not tied(a, b, a):
                out.append("vector %d: list %d (JS) vs %d (Python), at %.7g vs %.7g" % (i, lists_js[i], lists_py[i], a, b))
        same_list = lists_js == lists_py
    x = transformed(js_built, xb)
    err_js = ((x - coded(js_built).reconstruct_n(0, len(xb))) ** 2).sum(1)
    err_py = ((x - coded(py_added).reconstruct_n(0, len(xb))) ** 2).sum(1)
    norms = (x * x).sum(1)
    for i in np.nonzero(same_list)[0]:
        if not tied(err_js[i], err_py[i], norms[i]):
            out.append("vector %d: stored as %.7g away (JS) vs %.7g (Python)" % (i, err_js[i], err_py[i]))
    return out[:10]


def coded(index):
    """The index that stores the codes, by sequential internal id: behind an IDMap or
    an IndexPreTransform (whose codes encode the transformed vectors)."""
    if isinstance(faiss.downcast_index(index), faiss.IndexPreTransform):
        return faiss.downcast_index(faiss.downcast_index(index).index)
    return internal(index)


# --- training quality ----------------------------------------------------------------


def exact_neighbours(xb, xq, k, metric):
    xb, xq = xb.astype("float64"), xq.astype("float64")
    if metric == faiss.METRIC_INNER_PRODUCT:
        scores = -(xq @ xb.T)
    else:
        scores = (xq * xq).sum(1)[:, None] + (xb * xb).sum(1)[None, :] - 2 * xq @ xb.T
    return np.argsort(scores, axis=1)[:, :k]


def quality(index, xb, xq, exact, tunables, trains):
    """recall@k against the exact answer; for a trained index also the mean squared
    reconstruction error and, for an IVF, the k-means objective (the mean distance,
    or inner product, of a vector to its nearest centroid)."""
    k = exact.shape[1]
    set_tunables(index, tunables)
    _, I = index.search(xq, k)
    labels = internal_labels(index, I)
    out = {"recall": float(np.mean([len(set(labels[q]) & set(exact[q].tolist())) / k for q in range(len(xq))]))}
    if trains:
        x = transformed(index, xb)
        out["reconstructionError"] = float(((x - coded(index).reconstruct_n(0, len(xb))) ** 2).sum(1).mean())
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            scores = centroid_scores(ivf, transformed(index, xb))
            ip = ivf.metric_type == faiss.METRIC_INNER_PRODUCT
            out["kmeansObjective"] = float((scores.max(1) if ip else scores.min(1)).mean())
    return out


def internal_labels(index, I):
    """Search labels as positions in xb (an IDMap answers the ids it was given)."""
    top = faiss.downcast_index(index)
    if isinstance(top, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        id_map = faiss.vector_to_array(top.id_map)
        position = {int(v): i for i, v in enumerate(id_map)}
        return [[position.get(int(v), -1) for v in row] for row in I]
    return I.tolist()


# --- one case ------------------------------------------------------------------------


def run_case(case, workdir, d, xt, xb, xq, ids, xq_quality):
    tunables = case.get("tunables", {})
    js_file = os.path.join(workdir, "js-" + case["name"] + ".index")
    out = {}
    if case.get("shared"):
        index = faiss.read_index(js_file)
        trained_file = os.path.join(workdir, "js-trained-" + case["name"] + ".index")
        if os.path.exists(trained_file):
            py_added = faiss.read_index(trained_file)
            add(py_added, case, xb, ids)
            out["addDifferences"] = add_differences(index, py_added, xb)
        own = build(case["build"], d)
        if not own.is_trained:
            own.train(xt)
        add(own, case, xb, ids)
        metric = internal(own).metric_type
        exact = exact_neighbours(xb, xq_quality, case["k"], metric)
        trains = os.path.exists(trained_file)
        out["quality"] = {
            "js": quality(index, xb, xq_quality, exact, tunables, trains),
            "python": quality(own, xb, xq_quality, exact, tunables, trains),
        }
    else:
        index = build(case["build"], d)
        if not index.is_trained:
            index.train(xt)
        add(index, case, xb, ids)
    out["ntotal"] = index.ntotal
    out["search"] = search_result(index, xq, case["k"], tunables)
    out["radius"] = float(np.median(np.array(out["search"]["distances"]).reshape(len(xq), -1)[:, case["k"] // 2]))
    out["range"] = attempt(lambda: range_result(index, xq, out["radius"], tunables))
    out["reconstruct"] = attempt(lambda: [index.reconstruct(int(i)).tolist() for i in case["reconstructIds"]])
    # The index file written by JS: read it here, search it the same way.
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
    xq_quality = load(workdir, "xq-quality.f32", d)
    ids = np.array(spec["ids"], dtype="int64")
    results = {
        case["name"]: run_case(case, workdir, d, xt, xb, xq, ids, xq_quality) for case in spec["cases"]
    }
    with open(os.path.join(workdir, "python.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
