"""Retries as the TypeScript client's: a write whose answer is lost (here a 503
put in place of the server's answer by a relay in front of it, after the server
applied the write) is retried with the same Idempotency-Key, and the server
applies it once. Every write carries a key; reads carry none.
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import requests

import faiss_proxy

d = 8
xb = np.random.RandomState(0).rand(30, d).astype("float32")


class Relay:
    """Forwards every request to the server; the first `lose` answers to POST .../add become 503s."""

    def __init__(self, target, lose=1):
        self.seen = []  # (method, path, Idempotency-Key or None)
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                relay.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                r = requests.request(self.command, target + self.path, data=body, headers=headers)
                if self.command == "POST" and "/add" in self.path and relay.lose > 0:
                    relay.lose -= 1
                    self.send_response(503)
                    out = b'{"error":{"code":"ERR_SHUTTING_DOWN","message":"lost answer"}}'
                    self.send_header("Content-Type", "application/json")
                else:
                    self.send_response(r.status_code)
                    out = r.content
                    for k, v in r.headers.items():
                        if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive", "date"):
                            self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.lose = lose
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_retried_write_is_applied_once(server):
    relay = Relay(server.url, lose=2)
    try:
        faiss = faiss_proxy.connect(url=relay.url, api_key=server.tenant_key(), retry_for=5.0)
        index = faiss.IndexFlatL2(d, name="once")
        index.add(xb)
        assert index.ntotal == len(xb), "the add was applied once though it was sent three times"
        adds = [key for method, path, key in relay.seen if path.split("?")[0].endswith("/add")]
        assert len(adds) == 3 and adds[0] is not None and len(set(adds)) == 1
        index.search(xb[:1], 1)
        index.remove_ids(np.array([0]))
        for method, path, key in relay.seen:
            if path.split("?")[0].endswith("/search"):
                assert key is None
            elif method != "GET":
                assert key is not None, (method, path)
    finally:
        relay.close()


def test_threads_share_an_index(proxy):
    index = proxy.IndexFlatL2(d)
    index.add(xb)
    errors, found = [], []

    def worker(t):
        try:
            for i in range(t, len(xb), 4):
                found.append(int(index.search(xb[i : i + 1], 1)[1][0, 0]) == i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(found) == len(xb) and all(found)


def test_a_damaged_file_is_refused(proxy):
    e = None
    try:
        proxy.deserialize_index(np.frombuffer(b"IxF2" + bytes(60), dtype=np.uint8))
    except RuntimeError as err:
        e = err
    assert e is not None and e.code == "ERR_CORRUPT_INDEX" and e.status == 400


def test_a_wrong_answer_is_err_server():
    """A server (or something in front of it) that answers the wrong thing: ERR_SERVER, not a numpy or JSON error."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            created = self.path == "/v1/indexes"
            path = self.path.split("?")[0]
            if created:
                body = b'{"name":"x","dimension":8,"factory":"Flat","metric":"L2","ntotal":0,"isTrained":true}'
            else:
                body = b"not json" if path.endswith("/add") else b"\x00" * 7
            self.send_response(201 if created else 200)
            self.send_header("Content-Type", "application/json" if created or path.endswith("/add") else "application/octet-stream")
            self.send_header("X-Faiss-Total", "many")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        faiss = faiss_proxy.connect(url=f"http://127.0.0.1:{httpd.server_address[1]}", api_key="k", retry_for=0)
        for call in (lambda i: i.add(xb), lambda i: i.search(xb[:1], 2), lambda i: i.range_search(xb[:1], 1.0), lambda i: i.reconstruct(0)):
            index = faiss.IndexFlatL2(d)
            try:
                call(index)
                raise AssertionError("no error")
            except faiss_proxy.FaissProxyError as e:
                assert e.code == "ERR_SERVER" and "answer" in str(e), e
    finally:
        httpd.shutdown()
        httpd.server_close()
