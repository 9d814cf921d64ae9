"""Freed heap memory goes back to the operating system between stages."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.memory import _malloc_trim, release_free_memory


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(_malloc_trim() is None, reason="the C library has no malloc_trim")
def test_release_free_memory_returns_freed_heap_pages() -> None:
    # 8 KB arrays come from the heap (under the mmap threshold); the pin allocated after them
    # keeps their freed space from being the heap's top, which free() alone would give back.
    blocks = [np.ones(1024) for _ in range(25_000)]
    pin = np.ones(1024)
    del blocks
    held = _resident_bytes()
    assert release_free_memory()
    assert held - _resident_bytes() > 100 * 2**20
    assert pin.sum() == 1024
