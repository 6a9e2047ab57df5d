"""Writes damaged and hostile binary index files for test/binary/unsafe-files.test.ts.

Usage: /usr/bin/python3 crafted_binary_files.py <dir>
Each file is what FAISS 1.7.3's write_index_binary writes for an object whose
fields were set to values a crafted file can hold; read in process, FAISS trusts
them (the first search reads out of bounds, or the reader itself does). valid-*
files are intact.
"""
import os
import sys

import faiss
import numpy as np

d = 64


def codes(n, seed):
    return np.random.RandomState(seed).randint(0, 256, size=(n, d // 8)).astype("uint8")


def write(out, name, index):
    faiss.write_index_binary(index, os.path.join(out, name + ".index"))


def flat(n=50):
    index = faiss.IndexBinaryFlat(d)
    index.add(codes(n, 1))
    return index


def hnsw(n=200):
    index = faiss.IndexBinaryHNSW(d, 8)
    index.add(codes(n, 2))
    return index


def ivf(n=200):
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(d), d, 4)
    index.train(codes(400, 3))
    index.add(codes(n, 4))
    return index


def main(out):
    faiss.omp_set_num_threads(1)
    write(out, "valid-flat", flat())
    write(out, "valid-hnsw", hnsw())
    write(out, "valid-ivf", ivf())

    i = flat()
    i.ntotal = 10 ** 6  # codes for 50
    write(out, "flat-ntotal-past-codes", i)
    i = flat()
    i.ntotal = -5
    write(out, "flat-ntotal-negative", i)
    i = flat()
    i.code_size = 4096  # d / 8 is 8
    write(out, "flat-code-size-wrong", i)
    i = flat()
    i.code_size = 16  # d / 8 is 8; 25 codes of 16 bytes are the 50 of 8 stored
    i.ntotal = 25
    write(out, "flat-code-size-twice-d", i)
    i = flat()
    i.d = 12  # not a multiple of 8
    write(out, "flat-d-not-bytes", i)

    i = hnsw()
    i.hnsw.entry_point = 10 ** 6
    write(out, "hnsw-entry-point-out-of-range", i)
    i = hnsw()
    nb = faiss.vector_to_array(i.hnsw.neighbors)
    nb[3] = 10 ** 7
    faiss.copy_array_to_vector(nb, i.hnsw.neighbors)
    write(out, "hnsw-neighbour-out-of-range", i)
    i = hnsw()
    i.ntotal = 400  # the storage holds 200
    write(out, "hnsw-ntotal-past-storage", i)
    i = hnsw()
    lv = faiss.vector_to_array(i.hnsw.levels)
    lv[0] = 40
    faiss.copy_array_to_vector(lv, i.hnsw.levels)
    write(out, "hnsw-level-past-table", i)

    i = ivf()
    i.ntotal = 5000  # the lists hold 200
    write(out, "ivf-ntotal-past-lists", i)
    i = ivf()
    i.nprobe = 0
    write(out, "ivf-nprobe-0", i)
    i = ivf()
    i.quantizer.ntotal = 40  # nlist is 4; its codes are 4
    write(out, "ivf-quantizer-ntotal-past-codes", i)
    i = ivf()
    i.quantizer.add(codes(36, 9))  # 40 centroids for 4 lists: labels past nlist
    write(out, "ivf-quantizer-past-nlist", i)

    h = faiss.IndexBinaryHash(d, 8)
    h.add(codes(30, 5))
    write(out, "hash-unchecked", h)
    m = faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(d))
    m.add_with_ids(codes(10, 6), np.arange(10).astype("int64"))
    write(out, "idmap-unchecked", m)


if __name__ == "__main__":
    main(sys.argv[1])
