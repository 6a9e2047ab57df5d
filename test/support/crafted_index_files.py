"""Index files that FAISS 1.7.3 writes without complaint and that crash its own
reader, or load and crash the first search or add: the crash suite
(test/native/unsafe-files.test.ts) reads each one in a process of its own.

Usage: /usr/bin/python3 crafted_index_files.py <outdir>
Writes <outdir>/<case>.index for every case below, and <outdir>/valid-<kind>.index
for a few valid indexes the TS side damages itself (truncation, bit flips).
"""
import os
import sys

import faiss
import numpy as np

d = 8
rs = np.random.RandomState(7)
xb = rs.rand(300, d).astype("float32")


def trained(index):
    if not index.is_trained:
        index.train(xb)
    return index


def filled(index):
    trained(index).add(xb[:100])
    return index


def pq_with(field, value):
    index = filled(faiss.IndexPQ(d, 2, 4))
    setattr(index.pq, field, value)
    return index


def ivfpq_quantizer_ntotal(ntotal):
    index = filled(faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, 4, 2, 4))
    index.quantizer.ntotal = ntotal
    return index


def additive(kind, field, value):
    index = faiss.IndexResidualQuantizer(d, 2, 4) if kind == "rq" else faiss.IndexLocalSearchQuantizer(d, 2, 4)
    filled(index)
    setattr(index.rq if kind == "rq" else index.lsq, field, value)
    return index


def lattice(nsq):
    index = faiss.IndexLattice(d, 2, 4, 8)
    index.nsq = nsq
    return index


def sq_empty_table(qtype):
    index = faiss.IndexScalarQuantizer(d, qtype)
    index.is_trained = True
    return index


def ivfsq_empty_table():
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatL2(d), d, 4, faiss.ScalarQuantizer.QT_8bit)
    index.quantizer.train(xb)
    index.quantizer.add(xb[:4])
    index.is_trained = True
    return index


def hnsw_probas(extra):
    index = filled(faiss.IndexHNSWFlat(d, 4))
    probas = faiss.vector_to_array(index.hnsw.assign_probas)
    probas = np.concatenate([np.zeros(len(probas)), [1.0] * extra])
    faiss.copy_array_to_vector(probas.astype("float64"), index.hnsw.assign_probas)
    return index


def hnsw_neighbour(value):
    index = filled(faiss.IndexHNSWFlat(d, 4))
    neighbours = faiss.vector_to_array(index.hnsw.neighbors)
    neighbours[3] = value
    faiss.copy_array_to_vector(neighbours, index.hnsw.neighbors)
    return index


def ivf_idmap_quantizer(bad_id):
    q = faiss.IndexIDMap(faiss.IndexFlatL2(d))
    q.add_with_ids(xb[:4], np.array([0, 1, 2, bad_id], dtype="int64"))
    index = faiss.IndexIVFFlat(q, d, 4)
    index.is_trained = True  # adding here would crash this script: the JS side adds
    return index


def idmap_short(keep):
    index = faiss.IndexIDMap(faiss.IndexFlatL2(d))
    index.add_with_ids(xb[:20], np.arange(20, dtype="int64"))
    index.id_map.resize(keep)
    return index


def idmap_ntotal(ntotal):
    index = faiss.IndexIDMap(faiss.IndexFlatL2(d))
    index.add_with_ids(xb[:20], np.arange(20, dtype="int64"))
    index.ntotal = ntotal
    return index


def flat_ntotal(ntotal):
    index = filled(faiss.IndexFlatL2(d))
    index.ntotal = ntotal
    return index


CASES = {
    # Killed while the file is read.
    "pq-nbits-0": lambda: pq_with("nbits", 0),
    "pq-M-0": lambda: pq_with("M", 0),
    "pq-nbits-64": lambda: pq_with("nbits", 64),
    "pq-M-huge": lambda: pq_with("M", 2**40),
    "ivfpq-quantizer-ntotal-huge": lambda: ivfpq_quantizer_ntotal(2**40),
    "ivfpq-quantizer-ntotal-small": lambda: ivfpq_quantizer_ntotal(2),
    # ntotal * code_size wraps around to the true size of the codes (code_size 32).
    "ivfpq-quantizer-ntotal-wraps": lambda: ivfpq_quantizer_ntotal(4 + 2**59),
    "rq-M-minus-1": lambda: additive("rq", "M", 2**64 - 1),
    "rq-code-size-minus-1": lambda: additive("rq", "code_size", 2**64 - 1),
    "lsq-M-minus-1": lambda: additive("lsq", "M", 2**64 - 1),
    "lsq-K-minus-1": lambda: additive("lsq", "K", 2**64 - 1),
    "lattice-nsq-0": lambda: lattice(0),
    "lattice-nsq-minus-1": lambda: lattice(-1),
    "idmap-ids-short": lambda: idmap_short(5),
    "idmap-ids-empty": lambda: idmap_short(0),
    "idmap-ntotal-huge": lambda: idmap_ntotal(2**40),
    "flat-ntotal-huge": lambda: flat_ntotal(2**40),
    "flat-ntotal-negative": lambda: flat_ntotal(-5),
    "flat-ntotal-wraps": lambda: flat_ntotal(100 + 2**59),
    # Accepted by FAISS's reader; the first add or search crashes.
    "sq8-trained-empty-table": lambda: sq_empty_table(faiss.ScalarQuantizer.QT_8bit),
    "sq4-uniform-trained-empty-table": lambda: sq_empty_table(faiss.ScalarQuantizer.QT_4bit_uniform),
    "ivfsq-trained-empty-table": ivfsq_empty_table,
    "hnsw-probas-past-levels": lambda: hnsw_probas(20),
    "hnsw-neighbour-past-end": lambda: hnsw_neighbour(10_000),
    "hnsw-neighbour-negative": lambda: hnsw_neighbour(-7),
    "ivf-idmap-quantizer-id-beyond-nlist": lambda: ivf_idmap_quantizer(100),
    "ivf-idmap-quantizer-id-negative": lambda: ivf_idmap_quantizer(-3),
}

VALID = {
    "flat": lambda: filled(faiss.IndexFlatL2(d)),
    "pq": lambda: filled(faiss.IndexPQ(d, 2, 4)),
    "sq": lambda: filled(faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit)),
    "ivfpq": lambda: filled(faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, 4, 2, 4)),
    "hnsw": lambda: filled(faiss.IndexHNSWFlat(d, 4)),
    "lattice": lambda: faiss.IndexLattice(d, 2, 4, 8),
}


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name, make in list(CASES.items()) + [("valid-" + k, v) for k, v in VALID.items()]:
        faiss.write_index(make(), os.path.join(outdir, name + ".index"))


if __name__ == "__main__":
    main(sys.argv[1])
