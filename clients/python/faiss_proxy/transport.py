"""HTTP to a faiss-proxy server, with the TypeScript client's retry policy
(lib/client/transport.ts): a timeout on every attempt, and retries with
exponential backoff and jitter on connection errors, timeouts, 502/503/504 and
429 (waiting at least its Retry-After) for a bounded time. Every write carries
an Idempotency-Key that stays the same across its retries, so the server
applies it once.

One requests.Session per thread (a Session is not promised to be thread-safe);
each keeps its connections alive. Requests are sent with Session.send, which
skips what Session.request does on every call (reading ~/.netrc and the proxy
environment): the proxies are read from the environment once, here.
"""
import json
import os
import random
import threading
import time
import uuid

import requests

from .errors import FaissProxyError

BINARY = "application/octet-stream"
RETRY_STATUS = frozenset((429, 502, 503, 504))


def new_idempotency_key():
    return str(uuid.uuid4())


def error_from_answer(status, body_bytes, content_type):
    """The server's {"error": {"code", "message"}} as a FaissProxyError with its code."""
    code, message = "ERR_SERVER", f"The server answered {status}"
    if "json" in (content_type or "") and body_bytes:
        try:
            e = json.loads(body_bytes).get("error") or {}
            code = e.get("code") or code
            message = e.get("message") or message
        except (ValueError, AttributeError):
            pass
    return FaissProxyError(message, code, status)


class Answer:
    __slots__ = ("status", "headers", "content")

    def __init__(self, status, headers, content):
        self.status = status
        self.headers = headers
        self.content = content

    def json(self):
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            raise FaissProxyError(f"The server answered {self.status} with a body that is not JSON", "ERR_SERVER", self.status) from None


class Transport:
    def __init__(self, url, api_key=None, timeout=30.0, write_timeout=600.0, retry_for=15.0, min_backoff=0.05, max_backoff=2.0):
        self.base = url
        self.api_key = api_key
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.retry_for = retry_for
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._local = threading.local()
        self._proxies = requests.utils.get_environ_proxies(url)

    def _session(self):
        # Per thread, and per process: a forked child must not write on its parent's connections.
        s = getattr(self._local, "session", None)
        if s is None or self._local.pid != os.getpid():
            s = requests.Session()
            s.trust_env = False
            self._local.session = s
            self._local.pid = os.getpid()
        return s

    def request(self, method, path, *, query=None, json_body=None, data=None, binary=False, idempotency_key=None, retry=True, timeout=None):
        """One call, retried as above; a non-2xx answer that is not retried, or the last failure, is raised."""
        headers = {"Accept": BINARY if binary else "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body, separators=(",", ":")).encode()
        elif data is not None:
            headers["Content-Type"] = BINARY
        params = None if not query else {k: _query_value(v) for k, v in query.items() if v is not None}
        prepared = requests.Request(method, self.base + path, headers=headers, params=params, data=data).prepare()
        if timeout is None:
            timeout = self.write_timeout if idempotency_key else self.timeout
        deadline = time.monotonic() + (self.retry_for if retry else 0)
        attempt = 0
        while True:
            attempt += 1
            not_before = 0.0
            try:
                r = self._session().send(prepared, timeout=timeout, proxies=self._proxies, allow_redirects=False)
                content = r.content
            except requests.Timeout as e:
                failure = FaissProxyError(f"{method} {path} timed out after {timeout} s: {e}", "ERR_TIMEOUT")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                failure = FaissProxyError(f"Cannot reach {self.base}: {e}", "ERR_NETWORK")
            else:
                if r.status_code < 400:
                    return Answer(r.status_code, r.headers, content)
                failure = error_from_answer(r.status_code, content, r.headers.get("Content-Type"))
                if r.status_code not in RETRY_STATUS:
                    raise failure
                not_before = _retry_after(r.headers.get("Retry-After"))
            backoff = min(self.max_backoff, self.min_backoff * 2 ** (attempt - 1))
            # Jitter: the retries of many clients spread out.
            wait = max(not_before, backoff / 2 + random.random() * backoff / 2)
            if time.monotonic() + wait > deadline:
                raise failure
            time.sleep(wait)


def _query_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def _retry_after(value):
    try:
        s = float(value)
    except (TypeError, ValueError):
        return 0.0
    return s if s > 0 else 0.0
