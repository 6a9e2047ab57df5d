"""Remote indexes are named: name='docs' creates (or reattaches to) 'docs',
open_index attaches to it; an unnamed index gets a generated name and is deleted
from the server once its object is garbage-collected, as the TypeScript
client's dispose() deletes it; a named one stays until drop().
"""
import gc

import numpy as np

from conftest import wait_until

d = 8
xb = np.random.RandomState(0).rand(50, d).astype("float32")


def names(faiss):
    return {i["name"] for i in faiss.list_indexes()}


def test_named_index_survives_its_object(proxy):
    index = proxy.IndexFlatL2(d, name="docs")
    assert proxy.list_indexes() == []  # nothing is sent before the first use
    index.add(xb)
    del index
    gc.collect()
    assert "docs" in names(proxy)
    again = proxy.open_index("docs")
    assert again.ntotal == len(xb) and again.d == d and again.metric_type == proxy.METRIC_L2
    D, I = again.search(xb[:1], 1)
    assert I[0, 0] == 0
    # A script that creates its named index again, as it did the first time, attaches to it.
    rerun = proxy.IndexFlatL2(d, name="docs")
    rerun.add(xb[:5])
    assert rerun.ntotal == len(xb) + 5
    again.drop()
    assert "docs" not in names(proxy)


def test_unnamed_index_is_deleted_with_its_object(proxy):
    index = proxy.IndexHNSWFlat(d, 16)
    index.add(xb)
    name = index.name
    assert name.startswith("idx-") and name in names(proxy)
    del index
    gc.collect()
    assert wait_until(lambda: name not in names(proxy))


def test_opened_and_read_indexes(proxy, local, tmp_path):
    named = proxy.IndexFlatIP(d, name="kept")
    named.add(xb)
    opened = proxy.open_index("kept")
    assert opened.metric_type == proxy.METRIC_INNER_PRODUCT
    del opened
    gc.collect()
    assert "kept" in names(proxy), "an opened index is never deleted by its object"
    path = str(tmp_path / "x.index")
    flat = local.IndexFlatL2(d)
    flat.add(xb)
    local.write_index(flat, path)
    anonymous = proxy.read_index(path)
    kept = proxy.read_index(path, name="from-file")
    assert anonymous.ntotal == kept.ntotal == len(xb)
    anonymous_name = anonymous.name
    del anonymous, kept
    gc.collect()
    assert wait_until(lambda: anonymous_name not in names(proxy))
    assert "from-file" in names(proxy)


def test_refresh_sees_another_clients_writes(proxy):
    mine = proxy.IndexFlatL2(d, name="shared")
    mine.add(xb)
    theirs = proxy.open_index("shared")
    theirs.add(xb)
    assert mine.ntotal == len(xb)  # as of this object's last call
    mine.refresh()
    assert mine.ntotal == 2 * len(xb)


def test_collections(proxy):
    docs = proxy.create_collection("docs", d, payload_indexes={"tag": "keyword"})
    assert proxy.collection("docs").info()["count"] == 0
    n = docs.upsert([{"id": f"p{i}", "vector": xb[i], "payload": {"tag": "even" if i % 2 == 0 else "odd", "i": i}} for i in range(20)])
    assert n == 20
    hits = docs.search(xb[3], 3)
    assert hits[0]["id"] == "p3" and hits[0]["payload"]["i"] == 3
    only_even = {"must": [{"key": "tag", "match": {"value": "even"}}]}
    hits = docs.search(xb[3], 3, filter=only_even)
    assert len(hits) == 3 and all(h["payload"]["tag"] == "even" for h in hits)
    batch = docs.search(xb[:2], 1)
    assert [h[0]["id"] for h in batch] == ["p0", "p1"]
    assert docs.count(only_even) == 10
    got = docs.get(["p1", "nope"], with_vector=True)
    assert len(got) == 1 and got[0]["vector"].dtype == np.float32
    np.testing.assert_array_equal(got[0]["vector"], xb[1])
    assert docs.delete(filter=only_even) == 10 and docs.count() == 10
    proxy.create_alias("live", "docs")
    assert proxy.collection("live").count() == 10
    points, next_offset = proxy.collection("live").scroll(limit=4)
    assert len(points) == 4 and next_offset is not None
    e = None
    try:
        proxy.collection("absent").count()
    except RuntimeError as err:
        e = err
    assert e is not None and e.code == "ERR_COLLECTION_NOT_FOUND"


def test_tunables(proxy):
    hnsw = proxy.IndexHNSWFlat(d, 16)
    hnsw.hnsw.efConstruction = 80  # before the first use: sent with the creation
    hnsw.add(xb)
    assert hnsw.refresh()["efConstruction"] == 80
    try:
        hnsw.hnsw.efConstruction = 100
        raise AssertionError("no error")
    except RuntimeError as e:
        assert e.code == "ERR_UNSUPPORTED"
    hnsw.hnsw.efSearch = 5
    assert hnsw.hnsw.efSearch == 5 and hnsw.refresh()["efSearch"] != 5  # this object's, sent with each search
    flat = proxy.IndexFlatL2(d)
    try:
        flat.nprobe
        raise AssertionError("no error")
    except AttributeError:
        pass
    ivf = proxy.index_factory(d, "IVF4,Flat")
    proxy.ParameterSpace().set_index_parameters(ivf, "nprobe=3")
    assert ivf.nprobe == 3


def test_a_forked_child_does_not_delete_its_parents_index(proxy):
    import os

    index = proxy.IndexFlatL2(d)
    index.add(xb)
    pid = os.fork()
    if pid == 0:  # the child searches, drops its copy and leaves as a script would
        ok = index.search(xb[1:2], 1)[1][0, 0] == 1
        del index
        gc.collect()
        os._exit(0 if ok else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert index.name in names(proxy)
    assert index.search(xb[:1], 1)[1][0, 0] == 0
