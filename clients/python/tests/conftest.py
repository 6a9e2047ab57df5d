"""The live server the suite runs against: `node dist/service/cli.js serve` of
this checkout (build it first: npm run build:ts), on a free port, with a
temporary data directory and an admin key given in the environment. One server
for the whole run; each test gets its own tenant's key, so names never clash.
"""
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import base64

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))

import faiss_proxy  # noqa: E402


def new_key():
    """A key in the service's format: fp_<16 hex>_<43 base64url>."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"fp_{secrets.token_hex(8)}_{secret}"


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="faiss-proxy-pytest-")
        self.admin_key = new_key()
        cli = os.path.join(ROOT, "dist", "service", "cli.js")
        if not os.path.exists(cli):
            raise RuntimeError(f"{cli} is missing: run `npm run build:ts` first")
        env = dict(os.environ, FAISS_PROXY_ADMIN_KEY=self.admin_key)
        args = [os.environ.get("FAISS_PROXY_NODE", "node"), cli, "serve", "--port", "0", "--data-dir", os.path.join(self.dir, "data"), "--fsync", "false", "--log-level", "silent"]
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = None
        lines = []
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                lines.append(line)
                if "listening on " in line and self.url is None:
                    self.url = line.split("listening on ", 1)[1].split()[0]
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(60):
            self.stop()
            raise RuntimeError("The server did not start within 60 s:\n" + "".join(lines))

    def tenant_key(self, role="write"):
        """A key of a new tenant (the admin key creates it)."""
        admin = faiss_proxy.connect(url=self.url, api_key=self.admin_key)._transport
        tenant = "t" + secrets.token_hex(6)
        admin.request("POST", "/v1/admin/tenants", json_body={"name": tenant})
        return admin.request("POST", f"/v1/admin/tenants/{tenant}/keys", json_body={"role": role}).json()["key"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def proxy(server):
    """faiss_proxy.connect() to the live server, as a tenant of its own."""
    return faiss_proxy.connect(url=server.url, api_key=server.tenant_key(), retry_for=5.0)


@pytest.fixture(scope="session")
def local():
    """Debian's python3-faiss: the oracle."""
    import faiss

    # One OpenMP thread: on the busy 2-core CI machine two threads spin waiting for each
    # other (a small PQ training took seconds instead of 0.1 s).
    faiss.omp_set_num_threads(1)
    return faiss


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
