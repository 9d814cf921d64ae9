"""Index helpers on plain numpy arrays, shared by the stages: lookups, renumbering, block size."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["EDGE_BLOCK", "Ids", "counts", "renumber", "segment_positions", "sorted_lookup"]

I64 = npt.NDArray[np.int64]
#: Node numbers of any signed integer width (the flow network's endpoints are int32).
Ids = npt.NDArray[np.signedinteger[Any]]
B = npt.NDArray[np.bool_]

#: Edges a whole-edge numpy pass (certificate check, cost terms) takes at a time. Its
#: temporaries are 2 MB each: small enough that the allocator reuses them from its heap, where
#: larger ones are mapped afresh and page-faulted in on every pass (certifying M's 1.7M edges in
#: one 14 MB block took 0.02-0.18 s, in 2 MB blocks 0.012 s). Whole-length temporaries were
#: 280 MB each at 35M edges.
EDGE_BLOCK = 1 << 18


@njit(cache=True, nogil=True)
def _counts(ids: Ids, n: int) -> I64:  # pragma: no cover - compiled
    out = np.zeros(n, dtype=np.int64)
    for i in range(len(ids)):
        x = ids[i]
        if x < 0 or x >= n:
            raise ValueError("counts: an id outside [0, n)")
        out[x] += 1
    return out


def counts(ids: Ids, n: int) -> I64:
    """How often each of ``0..n-1`` occurs in ``ids`` (``np.bincount(ids, minlength=n)``, ids below ``n``).

    For whole edge columns: ``np.bincount`` first copies int32 ids to int64, 280 MB of fresh
    memory at 35M edges (0.1 s warm, up to 0.7 s on fresh memory here); this reads them in place.

    >>> counts(np.array([2, 0, 2], dtype=np.int32), 4).tolist()
    [1, 0, 2, 0]
    """
    return _counts(np.ascontiguousarray(ids), int(n))


def sorted_lookup(keys: I64, query: I64) -> tuple[I64, B]:
    """Positions of ``query`` in sorted ``keys`` and whether each was found.

    >>> [a.tolist() for a in sorted_lookup(np.array([2, 5]), np.array([5, 3, 9]))]
    [[1, 1, 2], [True, False, False]]
    """
    pos = np.searchsorted(keys, query)
    found = np.zeros(len(query), dtype=bool)
    inside = pos < len(keys)
    found[inside] = keys[pos[inside]] == query[inside]
    return pos, found


def segment_positions(ptr: I64, owners: I64) -> tuple[I64, I64]:
    """For each owner, expand ``ptr[o]:ptr[o+1]``; return (position in flat array, owner slot).

    >>> [a.tolist() for a in segment_positions(np.array([0, 2, 2, 5]), np.array([2, 0]))]
    [[2, 3, 4, 0, 1], [0, 0, 0, 1, 1]]
    """
    lengths = ptr[owners + 1] - ptr[owners]
    slot = np.repeat(np.arange(len(owners), dtype=np.int64), lengths)
    starts = np.repeat(ptr[owners] - np.cumsum(lengths) + lengths, lengths)
    return starts + np.arange(len(slot), dtype=np.int64), slot


def renumber(index: Ids, n: int) -> tuple[I64, I64]:
    """``np.unique(index, return_inverse=True)`` for indexes in ``[0, n)``, in linear time.

    The sort inside ``np.unique`` took seconds on the millions of tight edges of a 300k pool.

    >>> [a.tolist() for a in renumber(np.array([5, 2, 5]), 6)]
    [[2, 5], [1, 0, 1]]
    """
    present = np.zeros(n, dtype=bool)
    present[index] = True
    new = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present), new[index]
