"""Bad input and bad conditions: each is a clear exception with a code, never a
hang. Where faiss's wrapper raises first (shape, k, dtype), the proxy raises the
same kind of exception as faiss (checked against the oracle), and it is also a
FaissProxyError (a RuntimeError) with a code.
"""
import socket
import threading
import time

import numpy as np
import pytest

import faiss_proxy
from faiss_proxy import FaissProxyError

d = 8
xb = np.random.RandomState(0).rand(100, d).astype("float32")


def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test compares what each side raises
        return e
    raise AssertionError("no exception")


def same_as_faiss(local, proxy, body, code):
    """The body raises, with faiss and with the proxy, an exception of the same kind; the proxy's carries `code`."""
    expected = raised(lambda: body(local))
    got = raised(lambda: body(proxy))
    assert isinstance(got, type(expected)), f"faiss raises {type(expected).__name__}, the proxy {type(got).__mro__}"
    assert isinstance(got, FaissProxyError) and isinstance(got, RuntimeError)
    assert got.code == code, str(got)
    return got


def flat(faiss):
    index = faiss.IndexFlatL2(d)
    index.add(xb)
    return index


def test_wrong_dtype(local, proxy):
    strings = np.array([["a"] * d])
    e = same_as_faiss(local, proxy, lambda f: flat(f).search(strings, 3), "ERR_INVALID_ARGUMENT")
    assert isinstance(e, ValueError)
    # Other dtypes convert as faiss converts them.
    D, I = flat(proxy).search(xb[:2].astype("float64"), 3)
    assert D.dtype == np.float32 and I.dtype == np.int64 and I[0, 0] == 0 and I[1, 0] == 1


def test_wrong_shape(local, proxy):
    e = same_as_faiss(local, proxy, lambda f: flat(f).search(xb[0], 3), "ERR_DIMENSION")
    assert isinstance(e, ValueError)
    e = same_as_faiss(local, proxy, lambda f: flat(f).add(np.zeros((2, d + 1), dtype="float32")), "ERR_DIMENSION")
    assert isinstance(e, AssertionError)
    same_as_faiss(local, proxy, lambda f: flat(f).search(np.zeros((1, d - 1), dtype="float32"), 3), "ERR_DIMENSION")
    same_as_faiss(local, proxy, lambda f: f.IndexIDMap2(f.IndexFlatL2(d)).add_with_ids(xb, np.arange(5)), "ERR_DIMENSION")
    same_as_faiss(local, proxy, lambda f: flat(f).search(xb.tolist(), 3), "ERR_INVALID_ARGUMENT")


def test_k_zero(local, proxy):
    e = same_as_faiss(local, proxy, lambda f: flat(f).search(xb[:1], 0), "ERR_INVALID_ARGUMENT")
    assert isinstance(e, AssertionError)
    e = same_as_faiss(local, proxy, lambda f: flat(f).search(xb[:1], 2.5), "ERR_INVALID_ARGUMENT")
    assert isinstance(e, TypeError)


def test_server_errors_carry_its_code(proxy, server):
    ivf = proxy.IndexIVFFlat(proxy.IndexFlatL2(d), d, 4)
    e = raised(lambda: ivf.add(xb))
    assert isinstance(e, FaissProxyError) and isinstance(e, RuntimeError) and e.code == "ERR_NOT_TRAINED" and e.status == 409
    too_many = raised(lambda: flat(proxy).search(xb[:1], 1_000_000))
    assert isinstance(too_many, FaissProxyError) and too_many.status == 400 and too_many.code.startswith("ERR_")
    e = raised(lambda: proxy.index_factory(d, "NSG32,Flat").add(xb))
    assert e.code == "ERR_UNSUPPORTED"
    assert "ERR_UNSUPPORTED" in str(e)


def test_unknown_index(proxy):
    e = raised(lambda: proxy.open_index("no-such-index"))
    assert isinstance(e, RuntimeError) and e.code == "ERR_INDEX_NOT_FOUND" and e.status == 404


def test_wrong_key(server):
    bad = faiss_proxy.connect(url=server.url, api_key="fp_0123456789abcdef_" + "A" * 43, retry_for=0)
    e = raised(lambda: bad.IndexFlatL2(d).add(xb))
    assert e.code == "ERR_UNAUTHENTICATED" and e.status == 401
    e = raised(lambda: faiss_proxy.connect(url=server.url, api_key=None).list_indexes())
    assert e.code == "ERR_UNAUTHENTICATED"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_ends_after_the_retry_time():
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    e = raised(lambda: faiss_proxy.connect(url=url, api_key="k", retry_for=0).IndexFlatL2(d).add(xb))
    at_once = time.monotonic() - t0
    assert e.code == "ERR_NETWORK" and isinstance(e, RuntimeError)
    t0 = time.monotonic()
    e = raised(lambda: faiss_proxy.connect(url=url, api_key="k", retry_for=1.5).IndexFlatL2(d).add(xb))
    took = time.monotonic() - t0
    assert e.code == "ERR_NETWORK" and "Cannot reach" in str(e)
    # Retried with backoff (a wait that would pass the retry time is not begun), then given up.
    assert at_once < 0.3 and 0.5 <= took <= 1.5 + 0.5, (at_once, took)


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # held open, never answered
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        faiss = faiss_proxy.connect(url=f"http://127.0.0.1:{listener.getsockname()[1]}", api_key="k", timeout=0.3, retry_for=0.5)
        t0 = time.monotonic()
        e = raised(lambda: faiss.open_index("x"))
        assert e.code == "ERR_TIMEOUT" and time.monotonic() - t0 < 3.0
        assert len(accepted) >= 2, "a timed-out read is retried"
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        listener.close()


def test_no_url(monkeypatch, tmp_path):
    monkeypatch.delenv("FAISS_PROXY_URL", raising=False)
    monkeypatch.setenv("FAISS_PROXY_CONFIG", str(tmp_path / "absent.json"))
    e = raised(lambda: faiss_proxy.connect())
    assert e.code == "ERR_INVALID_ARGUMENT"


def test_settings_from_environment_and_config_file(server, monkeypatch, tmp_path):
    key = server.tenant_key()
    monkeypatch.setenv("FAISS_PROXY_URL", server.url)
    monkeypatch.setenv("FAISS_PROXY_API_KEY", key)
    assert faiss_proxy.connect().list_indexes() == []
    monkeypatch.delenv("FAISS_PROXY_URL")
    monkeypatch.delenv("FAISS_PROXY_API_KEY")
    config = tmp_path / "faiss-proxy.json"
    config.write_text('{"url": "%s", "apiKey": "%s"}' % (server.url, key))
    monkeypatch.setenv("FAISS_PROXY_CONFIG", str(config))
    assert faiss_proxy.connect().list_indexes() == []
    config.write_text("{not json")
    assert raised(lambda: faiss_proxy.connect()).code == "ERR_INVALID_ARGUMENT"


def test_quantizer_rules(proxy):
    assert raised(lambda: proxy.IndexIVFFlat(proxy.IndexFlatL2(d), d, 4, proxy.METRIC_INNER_PRODUCT)).code == "ERR_UNSUPPORTED"
    assert raised(lambda: proxy.IndexIVFFlat(proxy.IndexFlatL2(d + 1), d, 4)).code == "ERR_DIMENSION"
    used = proxy.IndexFlatL2(d)
    used.add(xb)
    assert raised(lambda: proxy.IndexIVFFlat(used, d, 4)).code == "ERR_UNSUPPORTED"
    assert proxy.IndexIVFFlat(proxy.IndexHNSWFlat(d, 16), d, 4).factory == "IVF4_HNSW16,Flat"
    assert proxy.IndexIVFFlat(proxy.IndexFlatIP(d), d, 4, proxy.METRIC_INNER_PRODUCT).factory == "IVF4,Flat"
