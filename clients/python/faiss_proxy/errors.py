"""Errors: every failure is a FaissProxyError, a RuntimeError (as faiss's own
errors are) that carries the service's `code` (ERR_DIMENSION, ERR_NOT_TRAINED,
ERR_INDEX_NOT_FOUND, ...; docs/http-api.md#errors) and its message.

Where faiss's Python wrapper fails before FAISS runs (an `assert` on the
dimension or on k, `n, d = x.shape` on a 1-D array, numpy refusing to convert),
the error is also an instance of what faiss raises there (AssertionError,
ValueError, AttributeError, TypeError), so code written against faiss that
catches those still catches them.
"""


class FaissProxyError(RuntimeError):
    """A failure of the proxy or of the call; `code` is stable, the message may change."""

    def __init__(self, message, code, status=None):
        super().__init__(message)
        self.code = code
        #: The HTTP status of the server's answer, None when the client refused the call itself.
        self.status = status

    def __str__(self):
        return f"{self.code}: {self.args[0]}"


_LIKE = {}


def client_error(message, code, like):
    """A FaissProxyError that is also a `like` (AssertionError, ValueError, ...): what faiss raises there."""
    cls = _LIKE.get(like)
    if cls is None:
        cls = type(f"FaissProxy{like.__name__}", (FaissProxyError, like), {"__module__": __name__})
        _LIKE[like] = cls
    return cls(message, code)
