"""Turning user inputs (scalars, lists, arrays) into broadcast float arrays."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _call_flags(is_call: ArrayLike) -> BoolArray:
    raw = np.asarray(is_call)
    if raw.dtype.kind in "US":
        upper = np.char.upper(raw.astype(str))
        if not np.all((upper == "CALL") | (upper == "PUT")):
            raise ValueError("is_call strings must be 'CALL' or 'PUT'")
        return np.asarray(upper == "CALL")
    return raw.astype(bool)


def as_inputs(
    *values: ArrayLike, is_call: ArrayLike
) -> tuple[list[FloatArray], BoolArray, tuple[int, ...]]:
    """``values`` as float64 arrays, ``is_call`` as bools, and their common broadcast shape.

    ``is_call`` takes bools, 0/1 or the strings ``"CALL"``/``"PUT"``. Nothing is copied
    or expanded: ufuncs broadcast by themselves.
    """
    flags = _call_flags(is_call)
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    return arrays, flags, np.broadcast_shapes(flags.shape, *(a.shape for a in arrays))


def is_scalar_call(*values: ArrayLike) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def output(result: FloatArray, scalar: bool) -> FloatArray | float:
    """A Python float for an all-scalar call, the array otherwise."""
    return float(result.reshape(())) if scalar else result
