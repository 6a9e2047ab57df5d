"""Filtered searches by Debian's python3-faiss 1.7.3, for test/embedded/filtered-search.test.ts.

Usage: /usr/bin/python3 filtered_oracle.py <workdir>
Reads <workdir>/spec.json: the index files JS wrote (so both sides search the
same trained state and the same HNSW graph), the queries, and selectors as JSON
terms; writes <workdir>/python.json with each search's labels and distances.

Selectors are FAISS's own classes where 1.7.3 has them (Batch, Array, Range,
Bitmap, Not). For IVF indexes it also answers with every list probed (what
the addon answers a query that came back short). IDSelectorAnd / Or / XOr are FAISS 1.7.4's: here they are the
IDSelectorBatch of the stored ids they select. IndexIDMap refuses search
parameters in 1.7.3: the wrapped index is searched with the selector asked
about the ids (what FAISS 1.7.4's IndexIDMap does), and its labels translated.
"""
import json
import os
import sys

import faiss
import numpy as np


def make_selector(term, keep):
    """FAISS's selector for a JSON term; `keep` holds what it points to."""
    kind = term["kind"]
    if kind in ("batch", "array"):
        ids = np.array([int(i) for i in term["ids"]], dtype="int64")
        keep.append(ids)
        cls = faiss.IDSelectorBatch if kind == "batch" else faiss.IDSelectorArray
        return cls(len(ids), faiss.swig_ptr(ids))
    if kind == "range":
        return faiss.IDSelectorRange(int(term["min"]), int(term["max"]))
    if kind == "bitmap":
        bits = np.array(term["bits"], dtype="uint8")
        keep.append(bits)
        return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
    if kind == "not":
        inner = make_selector(term["sel"], keep)
        keep.append(inner)
        return faiss.IDSelectorNot(inner)
    raise ValueError("no FAISS 1.7.3 class for " + kind)


def member(term, i, keep):
    kind = term["kind"]
    if kind == "and":
        return member(term["a"], i, keep) and member(term["b"], i, keep)
    if kind == "or":
        return member(term["a"], i, keep) or member(term["b"], i, keep)
    if kind == "xor":
        return member(term["a"], i, keep) != member(term["b"], i, keep)
    if kind == "not":
        return not member(term["sel"], i, keep)
    sel = make_selector(term, keep)
    keep.append(sel)
    return sel.is_member(int(i))


def selector_over(term, stored_ids, keep):
    """A selector for `term`; compound ones as the batch of stored ids they select."""
    if term["kind"] in ("and", "or", "xor"):
        chosen = np.array([i for i in stored_ids if member(term, int(i), keep)], dtype="int64")
        keep.append(chosen)
        return faiss.IDSelectorBatch(len(chosen), faiss.swig_ptr(chosen))
    return make_selector(term, keep)


def params_for(index, sel, case):
    if isinstance(index, faiss.IndexIVF):
        p = faiss.SearchParametersIVF()
        p.nprobe = case.get("nprobe", index.nprobe)
    elif isinstance(index, faiss.IndexHNSW):
        p = faiss.SearchParametersHNSW()
        # HNSW sizes its candidate queue from the index's field, its stop from the parameter.
        index.hnsw.efSearch = case.get("efSearch", index.hnsw.efSearch)
        p.efSearch = index.hnsw.efSearch
    else:
        p = faiss.SearchParameters()
    p.sel = sel
    return p


def run_case(case, workdir, xq, k):
    outer = faiss.read_index(os.path.join(workdir, case["file"]))
    index = outer  # `outer` owns what `index` may point into: it stays referenced
    id_map = None
    if isinstance(outer, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        id_map = faiss.vector_to_array(outer.id_map)
        index = faiss.downcast_index(outer.index)
    out = {}
    for name, term in case["selectors"].items():
        keep = []
        stored = id_map if id_map is not None else np.arange(index.ntotal)
        sel = selector_over(term, stored, keep)
        if id_map is not None:
            positions = np.array([p for p in range(index.ntotal) if sel.is_member(int(id_map[p]))], dtype="int64")
            keep.append(sel)
            sel = faiss.IDSelectorBatch(len(positions), faiss.swig_ptr(positions))
        params = params_for(index, sel, case)
        try:
            D, I = index.search(xq, k, params=params)
        except Exception:
            sys.stderr.write("filtered_oracle: case %s, selector %s\n" % (case["name"], name))
            raise
        if id_map is not None:
            I = np.where(I >= 0, id_map[np.maximum(I, 0)], -1)
        answer = {"labels": I.ravel().tolist(), "distances": D.ravel().tolist()}
        if isinstance(index, faiss.IndexIVF):
            # What the addon answers a query that came back short: every list probed.
            params.nprobe = index.nlist
            D2, I2 = index.search(xq, k, params=params)
            if id_map is not None:
                I2 = np.where(I2 >= 0, id_map[np.maximum(I2, 0)], -1)
            answer["allLists"] = {"labels": I2.ravel().tolist(), "distances": D2.ravel().tolist()}
            params.nprobe = case.get("nprobe", index.nprobe)
        if "radius" in case:
            lims, RD, RI = index.range_search(xq, case["radius"], params=params)
            if id_map is not None:
                RI = id_map[RI]
            answer["range"] = {"lims": lims.tolist(), "labels": RI.tolist(), "distances": RD.tolist()}
        out[name] = answer
    return out


def main():
    workdir = sys.argv[1]
    with open(os.path.join(workdir, "spec.json")) as f:
        spec = json.load(f)
    xq = np.fromfile(os.path.join(workdir, spec["queries"]), dtype="float32").reshape(-1, spec["d"])
    result = {case["name"]: run_case(case, workdir, xq, spec["k"]) for case in spec["cases"]}
    with open(os.path.join(workdir, "python.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
