"""The seed's design, for the harness to measure the proxy against: a FastAPI +
faiss proxy with JSON bodies and one uvicorn worker, serving one index file.

It answers the proxy's JSON search route, POST /v1/indexes/{name}/search with
{ vectors, k, efSearch? } and an X-API-Key header, with the same answer shape,
{ distances, labels }, so the harness's load generator and answer check are the
same for both. Debian's python3-fastapi, python3-uvicorn and python3-faiss
(/usr/bin/python3); the harness checks they are there before it starts this.

Run: /usr/bin/python3 bench/fastapi/server.py <index file> <api key>
It prints "listening on http://127.0.0.1:<port>" once it accepts connections.
"""
import socket
import sys
from typing import List, Optional

import faiss
import numpy as np
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

INDEX = faiss.read_index(sys.argv[1])
API_KEY = sys.argv[2]

app = FastAPI()


class SearchBody(BaseModel):
    vectors: List[List[float]]
    k: int
    efSearch: Optional[int] = None


@app.post("/v1/indexes/{name}/search")
def search(name: str, body: SearchBody, x_api_key: Optional[str] = Header(None)):
    # A plain def: FastAPI runs it in its thread pool, and FAISS releases the GIL while it searches.
    if x_api_key != API_KEY:
        raise HTTPException(status_code=401, detail="unknown API key")
    x = np.asarray(body.vectors, dtype="float32")
    params = faiss.SearchParametersHNSW(efSearch=body.efSearch) if body.efSearch is not None else None
    distances, labels = INDEX.search(x, body.k, params=params)
    return {"distances": distances.tolist(), "labels": labels.tolist()}


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = uvicorn.Server(uvicorn.Config(app, workers=1, log_level="warning", access_log=False))
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
