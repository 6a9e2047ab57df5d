"""The faiss.index of a LangChain FaissStore directory, written as faiss-node
writes it (its Index.write is faiss::write_index of the index: an IndexFlatL2
unless the user gave FaissStore another).

Usage: /usr/bin/python3 faiss_store_index.py <vectors.f32> <d> <l2|ip> <out.index>
<vectors.f32>: the vectors in label order, as raw little-endian float32.
"""
import sys

import faiss
import numpy as np

vectors_file, d, metric, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
x = np.fromfile(vectors_file, dtype="<f4").reshape(-1, d)
index = faiss.IndexFlatL2(d) if metric == "l2" else faiss.IndexFlatIP(d)
index.add(x)
faiss.write_index(index, out)
