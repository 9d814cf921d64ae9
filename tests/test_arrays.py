"""Index helpers shared by the stages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.arrays import counts


@given(st.lists(st.integers(0, 9), max_size=50), st.integers(10, 12), st.sampled_from([np.int32, np.int64]))
def test_counts_equal_bincount(ids: list[int], n: int, dtype: type) -> None:
    got = counts(np.array(ids, dtype=dtype), n)
    assert got.dtype == np.int64
    assert got.tolist() == np.bincount(np.array(ids, dtype=np.int64), minlength=n).tolist()


@pytest.mark.parametrize("bad", [-1, 3])
def test_counts_refuse_an_id_outside_the_range(bad: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        counts(np.array([0, bad], dtype=np.int32), 3)
