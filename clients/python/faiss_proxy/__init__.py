"""faiss_proxy: FAISS's Python API, served by a faiss-proxy server.

    import faiss_proxy
    faiss = faiss_proxy.connect(url="http://127.0.0.1:8080", api_key="fp_...")  # was: import faiss
    index = faiss.IndexFlatL2(128, name="docs")
    index.add(xb)
    D, I = index.search(xq, 10)

See docs/python.md in the faiss-proxy repository.
"""
from .api import Connection, connect
from .errors import FaissProxyError

__all__ = ["connect", "Connection", "FaissProxyError"]
__version__ = "0.1.0"
