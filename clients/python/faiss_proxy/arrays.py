"""Arguments converted as faiss's own Python wrapper converts them
(faiss/class_wrappers.py of 1.7.3): `n, d = x.shape`, then
np.ascontiguousarray(x, dtype='float32'), then `assert d == self.d`. Where faiss
fails here, this fails with the same kind of exception (errors.client_error), and
a code.
"""
import numbers

import numpy as np

from .errors import client_error


def matrix(x, d, what="x"):
    """(n, d) float32 rows, C-contiguous, as faiss takes them."""
    try:
        shape = x.shape
    except AttributeError:
        raise client_error(f"Expected a numpy array for {what} but received {type(x).__name__} (faiss takes arrays of shape (n, d))", "ERR_INVALID_ARGUMENT", AttributeError) from None
    if len(shape) != 2:
        raise client_error(f"Expected {what} of shape (n, d) but its shape is {shape}", "ERR_DIMENSION", ValueError)
    try:
        x = np.ascontiguousarray(x, dtype="float32")
    except (TypeError, ValueError) as e:
        raise client_error(f"Cannot convert {what} of dtype {x.dtype} to float32: {e}", "ERR_INVALID_ARGUMENT", type(e)) from None
    if shape[1] != d:
        raise client_error(f"Expected {what} of dimension {d} but it has {shape[1]} columns", "ERR_DIMENSION", AssertionError)
    return x


def id_vector(ids, n=None, what="ids"):
    """int64 ids, one dimension (of n elements when n is given), as faiss takes them."""
    try:
        ids = np.ascontiguousarray(ids, dtype="int64")
    except (TypeError, ValueError, OverflowError) as e:
        raise client_error(f"Cannot convert {what} to int64: {e}", "ERR_INVALID_ARGUMENT", type(e) if isinstance(e, (TypeError, ValueError)) else ValueError) from None
    if ids.ndim != 1 or (n is not None and ids.shape != (n,)):
        raise client_error(f"Expected {what} of shape ({'n' if n is None else n},) but its shape is {ids.shape}", "ERR_DIMENSION", AssertionError)
    return ids


def count(v, what):
    """A non-negative integer (k, n, an id), as SWIG takes it: a bool or a float is a TypeError."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise client_error(f"Expected an integer for {what} but received {v!r}", "ERR_INVALID_ARGUMENT", TypeError)
    return int(v)


def positive(v, what):
    v = count(v, what)
    if v <= 0:
        raise client_error(f"Expected {what} > 0 but received {v}", "ERR_INVALID_ARGUMENT", AssertionError)
    return v


def number(v, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise client_error(f"Expected a number for {what} but received {v!r}", "ERR_INVALID_ARGUMENT", TypeError)
    return float(v)
