"""The drop-in proof: each scenario is one body of faiss code, run once with
Debian's python3-faiss (the oracle) and once with faiss_proxy.connect() against
the live server; the results must agree: labels exactly (where two distances tie,
either order), distances within 1e-5.

The data are well-separated clusters, so that k-means (IVF, PQ) ends in the same
partition on both sides whatever the last bits of the float arithmetic (the
server's FAISS is built for this CPU, Debian's for any x86-64); HNSW searches
with an efSearch that makes them exact, since a graph built on several threads
depends on their interleaving.
"""
import io
import os

import numpy as np
import pytest

D_TOL = 1e-5
d = 32
k = 10


def clusters(n, seed, centers=16):
    # Norms near 1: float32's rounding in FAISS's ||x||^2 + ||y||^2 - 2<x, y> stays far below 1e-5.
    rs = np.random.RandomState(1234)
    c = rs.normal(size=(centers, d)) / np.sqrt(d)
    rs = np.random.RandomState(seed)
    return (c[rs.randint(centers, size=n)] + rs.normal(size=(n, d)) * 0.15 / np.sqrt(d)).astype("float32")


xb = clusters(2000, 1)
xq = clusters(40, 2)
ids = np.arange(len(xb), dtype="int64") * 7 + 1000


def assert_same_knn(local, remote):
    Dl, Il = local
    Dr, Ir = remote
    assert Dr.dtype == np.float32 and Ir.dtype == np.int64
    assert Dr.shape == Dl.shape and Ir.shape == Il.shape
    np.testing.assert_allclose(Dr, Dl, rtol=D_TOL, atol=D_TOL)
    for i, j in zip(*np.nonzero(Il != Ir)):
        # Ties aside: a differing label must sit at a distance another slot of the row shares.
        row = Dl[i]
        tied = np.isclose(row, row[j], rtol=D_TOL, atol=D_TOL)
        tied[j] = False
        assert tied.any(), f"query {i} rank {j}: label {Ir[i, j]} where faiss has {Il[i, j]} (distance {row[j]})"
        assert set(Ir[i][np.isclose(row, row[j], rtol=D_TOL, atol=D_TOL)]) <= set(Il[i]) | set(Ir[i])


def assert_same_ranges(local, remote, radius):
    """The same results per query, up to float rounding: the FAISS behind the proxy may be
    built for another instruction set than this Python's (a generic build's norms round
    otherwise than AVX2's), so a result whose distance is within D_TOL of the radius may be
    on one side only; every other result is on both, at the same distance."""
    (ll, Dl, Il), (lr, Dr, Ir) = local, remote
    assert lr.dtype == ll.dtype and Dr.dtype == np.float32 and Ir.dtype == np.int64
    assert len(lr) == len(ll)
    at_radius = lambda dist: abs(float(dist) - radius) <= D_TOL * max(1.0, abs(radius))
    for q in range(len(ll) - 1):
        local_q = dict(zip(Il[int(ll[q]):int(ll[q + 1])].tolist(), Dl[int(ll[q]):int(ll[q + 1])]))
        remote_q = dict(zip(Ir[int(lr[q]):int(lr[q + 1])].tolist(), Dr[int(lr[q]):int(lr[q + 1])]))
        for label in local_q.keys() ^ remote_q.keys():
            dist = local_q.get(label, remote_q.get(label))
            assert at_radius(dist), f"query {q}: label {label} at {dist} is on one side only, away from the radius {radius}"
        common = sorted(local_q.keys() & remote_q.keys())
        np.testing.assert_allclose([remote_q[c] for c in common], [local_q[c] for c in common], rtol=D_TOL, atol=D_TOL)


def both(local, proxy, body):
    return body(local), body(proxy)


# Each scenario: faiss code written once, given the module (faiss or the proxy connection).


def flat_l2(faiss):
    index = faiss.IndexFlatL2(d)
    index.add(xb)
    assert index.ntotal == len(xb) and index.is_trained and index.d == d and index.metric_type == faiss.METRIC_L2
    return index.search(xq, k)


def flat_ip(faiss):
    index = faiss.IndexFlatIP(d)
    index.add(xb)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    return index.search(xq, k)


def ivf_flat(faiss):
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quantizer, d, 16)
    assert not index.is_trained
    index.train(xb)
    assert index.is_trained
    index.add(xb)
    index.nprobe = 4
    return index.search(xq, k)


def ivf_pq(faiss):
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFPQ(quantizer, d, 16, 8, 4)
    index.train(xb)
    index.add(xb)
    index.nprobe = 3
    return index.search(xq, k)


def ivf_sq(faiss):
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatL2(d), d, 16, faiss.ScalarQuantizer.QT_8bit)
    index.train(xb)
    index.add(xb)
    index.nprobe = 4
    D, I = index.search(xq, k)
    assert (index.assign(xq, k) == I).all()
    return D, I


def hnsw(faiss):
    index = faiss.IndexHNSWFlat(d, 16)
    index.hnsw.efConstruction = 64
    index.add(xb)
    assert index.hnsw.efConstruction == 64
    index.hnsw.efSearch = 256
    assert index.hnsw.efSearch == 256
    return index.search(xq, k)


def pq(faiss):
    index = faiss.IndexPQ(d, 8, 4)
    index.train(xb)
    index.add(xb)
    return index.search(xq, k)


def sq(faiss):
    index = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit)
    index.train(xb)
    index.add(xb)
    return index.search(xq, k)


def idmap2(faiss):
    index = faiss.IndexIDMap2(faiss.IndexFlatL2(d))
    index.add_with_ids(xb, ids)
    return index.search(xq, k)


def idmap_ip(faiss):
    index = faiss.IndexIDMap(faiss.IndexFlatIP(d))
    index.add_with_ids(xb, ids)
    return index.search(xq, k)


def pca_ivf_sq(faiss):
    index = faiss.index_factory(d, "PCA16,IVF16,SQ8", faiss.METRIC_L2)
    index.train(xb)
    index.add(xb)
    faiss.ParameterSpace().set_index_parameter(index, "nprobe", 4)
    return index.search(xq, k)


@pytest.mark.parametrize("scenario", [flat_l2, flat_ip, ivf_flat, ivf_pq, ivf_sq, hnsw, pq, sq, idmap2, idmap_ip, pca_ivf_sq], ids=lambda f: f.__name__)
def test_search_matches_faiss(local, proxy, scenario):
    assert_same_knn(*both(local, proxy, scenario))


def range_flat(faiss, radius):
    index = faiss.IndexFlatL2(d)
    index.add(xb)
    return index.range_search(xq, radius)


def range_ip(faiss, radius):
    index = faiss.IndexFlatIP(d)
    index.add(xb)
    return index.range_search(xq, radius)


def range_ivf(faiss, radius):
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, 16)
    index.train(xb)
    index.add(xb)
    index.nprobe = 16
    return index.range_search(xq, radius)


def range_idmap2(faiss, radius):
    index = faiss.IndexIDMap2(faiss.IndexFlatL2(d))
    index.add_with_ids(xb, ids)
    return index.range_search(xq, radius)


@pytest.mark.parametrize("scenario, radius", [(range_flat, 0.04), (range_ip, 1.0), (range_ivf, 0.04), (range_idmap2, 0.04)], ids=lambda p: getattr(p, "__name__", None))
def test_range_search_matches_faiss(local, proxy, scenario, radius):
    local_r, remote_r = both(local, proxy, lambda faiss: scenario(faiss, radius))
    assert local_r[0][-1] > len(xq), "the radius should find several results a query"
    assert_same_ranges(local_r, remote_r, radius)


def remove_idmap2(faiss):
    index = faiss.IndexIDMap2(faiss.IndexFlatL2(d))
    index.add_with_ids(xb, ids)
    removed = index.remove_ids(ids[::3].copy())
    by_selector = index.remove_ids(faiss.IDSelectorRange(int(ids[1]), int(ids[40])))
    return (removed, by_selector, index.ntotal), index.search(xq, k)


def remove_ivf(faiss):
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, 16)
    index.train(xb)
    index.add_with_ids(xb, ids)
    index.nprobe = 16
    removed = index.remove_ids(np.array(ids[:500]))
    return (removed, index.ntotal), index.search(xq, k)


@pytest.mark.parametrize("scenario", [remove_idmap2, remove_ivf], ids=lambda f: f.__name__)
def test_remove_ids_matches_faiss(local, proxy, scenario):
    (counts_l, knn_l), (counts_r, knn_r) = both(local, proxy, scenario)
    assert counts_r == counts_l
    assert_same_knn(knn_l, knn_r)


def reconstruct_all(faiss):
    flat = faiss.IndexFlatL2(d)
    flat.add(xb)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, 16)
    ivf.train(xb)
    ivf.add_with_ids(xb, ids)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    mapped = faiss.IndexIDMap2(faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit))
    mapped.train(xb)
    mapped.add_with_ids(xb, ids)
    return [flat.reconstruct(5), flat.reconstruct_n(10, 20), flat.reconstruct_batch(np.array([3, 1999, 0])), ivf.reconstruct(int(ids[77])), mapped.reconstruct(int(ids[3])), mapped.reconstruct_n(int(ids[0]), 1)]


def test_reconstruct_matches_faiss(local, proxy):
    local_r, remote_r = both(local, proxy, reconstruct_all)
    for a, b in zip(local_r, remote_r):
        assert b.dtype == np.float32 and b.shape == a.shape
        np.testing.assert_allclose(b, a, rtol=D_TOL, atol=D_TOL)


def filtered(faiss):
    flat = faiss.IndexFlatL2(d)
    flat.add(xb)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, 16)
    ivf.train(xb)
    ivf.add(xb)
    # Each selector held in a variable: faiss 1.7.3's SearchParameters(sel=...) keeps no reference to it.
    batch = faiss.IDSelectorBatch(np.arange(0, len(xb), 3))
    low = faiss.IDSelectorRange(0, 1000)
    high = faiss.IDSelectorNot(low)
    middle = faiss.IDSelectorRange(500, 1500)
    bits = np.packbits(np.arange(len(xb)) % 5 == 0, bitorder="little")
    bitmap = faiss.IDSelectorBitmap(bits)
    everything = faiss.IDSelectorAll()
    return [
        flat.search(xq, k, params=faiss.SearchParameters(sel=batch)),
        flat.search(xq, k, params=faiss.SearchParameters(sel=high)),
        ivf.search(xq, k, params=faiss.SearchParametersIVF(sel=middle, nprobe=8)),
        flat.search(xq, k, params=faiss.SearchParameters(sel=bitmap)),
        flat.search(xq, k, params=faiss.SearchParameters(sel=everything)),
    ]


def test_filtered_search_matches_faiss(local, proxy):
    for a, b in zip(*both(local, proxy, filtered)):
        assert_same_knn(a, b)


def test_selector_combinations_match_their_ids(local, proxy):
    # IDSelectorAnd / Or / XOr are beyond faiss 1.7.3's Python names: each must search
    # as python3-faiss does with a batch of the ids it selects.
    a, b = proxy.IDSelectorRange(0, 1200), proxy.IDSelectorBatch(np.arange(0, len(xb), 2))
    flat_l, flat_r = local.IndexFlatL2(d), proxy.IndexFlatL2(d)
    flat_l.add(xb)
    flat_r.add(xb)
    for combined in (proxy.IDSelectorAnd(a, b), proxy.IDSelectorOr(a, b), proxy.IDSelectorXOr(a, b)):
        chosen = local.IDSelectorBatch(np.array([i for i in range(len(xb)) if combined.is_member(i)], dtype="int64"))
        expected = flat_l.search(xq, k, params=local.SearchParameters(sel=chosen))
        assert_same_knn(expected, flat_r.search(xq, k, params=proxy.SearchParameters(sel=combined)))


def test_reset_matches_faiss(local, proxy):
    def body(faiss):
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, 16)
        index.train(xb)
        index.add(xb)
        index.reset()
        after = (index.ntotal, index.is_trained)
        index.add(xb[:100])
        return after, index.search(xq, 3)

    (after_l, knn_l), (after_r, knn_r) = both(local, proxy, body)
    assert after_r == after_l == (0, True)
    assert_same_knn(knn_l, knn_r)


def built(faiss):
    index = faiss.index_factory(d, "IVF16,Flat")
    index.train(xb)
    index.add_with_ids(xb, ids)
    index.nprobe = 4
    return index


def test_file_from_faiss_to_proxy(local, proxy, tmp_path):
    path = str(tmp_path / "local.index")
    index = built(local)
    local.write_index(index, path)
    remote = proxy.read_index(path)
    assert remote.ntotal == len(xb) and remote.d == d
    remote.nprobe = 4
    assert_same_knn(index.search(xq, k), remote.search(xq, k))
    # The same through bytes in memory.
    again = proxy.deserialize_index(local.serialize_index(index))
    again.nprobe = 4
    assert_same_knn(index.search(xq, k), again.search(xq, k))


def test_file_from_proxy_to_faiss(local, proxy, tmp_path):
    path = str(tmp_path / "remote.index")
    remote = built(proxy)
    expected = remote.search(xq, k)
    proxy.write_index(remote, path)
    index = local.read_index(path)
    assert type(index).__name__ == "IndexIVFFlat" and index.ntotal == len(xb)
    index.nprobe = 4
    assert_same_knn(index.search(xq, k), expected)
    data = proxy.serialize_index(remote)
    assert data.dtype == np.uint8 and data.tobytes() == open(path, "rb").read()
    back = local.deserialize_index(data)
    back.nprobe = 4
    assert_same_knn(back.search(xq, k), expected)
    # A file object works as a path does.
    buf = io.BytesIO()
    proxy.write_index(remote, buf)
    assert buf.getvalue() == data.tobytes()
    assert os.path.getsize(path) == len(data)
