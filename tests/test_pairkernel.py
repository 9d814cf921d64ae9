"""The compiled pair rules against the vectorised rule functions the explanations use."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher.candidates as cand
from matcher.pairkernel import check_pairs, merge_pairs
from tests.helpers import compile_doc
from tests.strategies import problems, rule_problems


def _all_pairs(n_v: int, n_a: int) -> tuple[np.ndarray, np.ndarray]:
    vol, act = np.divmod(np.arange(n_v * n_a, dtype=np.int64), max(n_a, 1))
    return vol, act


@settings(max_examples=300)
@given(st.one_of(problems(), rule_problems()), st.booleans())
def test_check_pairs_equals_the_rule_functions(doc: dict[str, Any], skill_table: bool) -> None:
    p = compile_doc(doc)
    vol, act = _all_pairs(p.n_volunteers, p.n_activities)
    # Both lookups of the rule functions: the level table, and the binary search used beyond it.
    with mock.patch.object(cand, "SKILL_TABLE_CELLS", cand.SKILL_TABLE_CELLS if skill_table else 0):
        skills_ok, surplus = cand.skill_check(p, vol, act)
        expected = (
            skills_ok & cand.time_check(p, vol, act) & cand.membership_check(p, vol, act) & cand.role_check(p, vol, act)
        )
    keep, got_surplus, rank = check_pairs(p, vol, act)
    assert keep.tolist() == expected.tolist()
    assert got_surplus.tolist() == np.where(expected, surplus, 0).tolist()
    assert rank.tolist() == np.where(expected, cand.preference_ranks(p, vol, act), -1).tolist()


@settings(max_examples=300)
@given(st.one_of(problems(), rule_problems()), st.data())
def test_rule_functions_on_a_few_pairs_equal_them_on_all(doc: dict[str, Any], data: st.DataObject) -> None:
    # An explanation asks about a handful of pairs, in any order and with repeats: only those
    # volunteers' skills, windows and memberships are keyed (and no skill table is built).
    p = compile_doc(doc)
    vol, act = _all_pairs(p.n_volunteers, p.n_activities)
    if len(vol) == 0:
        return
    pick = np.array(data.draw(st.lists(st.integers(0, len(vol) - 1), min_size=1, max_size=6)), dtype=np.int64)
    checks = {
        "skills": lambda v, a: np.stack(cand.skill_check(p, v, a)),
        "time": lambda v, a: cand.time_check(p, v, a),
        "membership": lambda v, a: cand.membership_check(p, v, a),
        "role": lambda v, a: cand.role_check(p, v, a),
        "rank": lambda v, a: cand.preference_ranks(p, v, a),
    }
    # With no table at all (as beyond SKILL_TABLE_CELLS), the few pairs' lookups key only their own.
    cells = data.draw(st.sampled_from([cand.SKILL_TABLE_CELLS, 0]))
    with mock.patch.object(cand, "SKILL_TABLE_CELLS", cells):
        for name, check in checks.items():
            assert check(vol[pick], act[pick]).tolist() == check(vol, act)[..., pick].tolist(), name


def test_check_pairs_on_a_hand_checked_menu() -> None:
    def at(hour: int) -> str:
        return f"2026-03-01T{hour:02d}:00:00+08:00"

    doc = {
        "volunteers": [
            {"id": "a", "skills": {"急救": 3}, "availability": [{"start": at(8), "end": at(12)}]},
            {"id": "b", "skills": {"急救": 1}},
            {"id": "c", "preferences": ["x"], "organizations": ["红十字会"]},
        ],
        "activities": [
            {"id": "w", "start": at(9), "end": at(10), "capacity": 1, "members_only": ["红十字会"]},
            {"id": "x", "start": at(9), "end": at(11), "capacity": 1},
            {
                "id": "y",
                "start": at(9),
                "end": at(10),
                "capacity": 1,
                "requirements": [{"skill": "急救", "min_level": 2}],
            },
            {"id": "z", "start": at(11), "end": at(13), "capacity": 1},
        ],
    }
    p = compile_doc(doc)
    vol, act = _all_pairs(3, 4)
    keep, surplus, rank = check_pairs(p, vol, act)
    # w admits members (c); y needs first aid 2 (a has 3: surplus 1; b has 1); z ends after a's
    # window; c ranks x first.
    assert keep.reshape(3, 4).tolist() == [
        [False, True, True, False],
        [False, True, False, True],
        [True, True, False, True],
    ]
    assert surplus.reshape(3, 4).tolist() == [[0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert rank.reshape(3, 4).tolist() == [[-1, -1, -1, -1], [-1, -1, -1, -1], [-1, 0, -1, -1]]


_PART = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(-3, 3)), max_size=25)


def _parts(groups: list[list[tuple[int, int, int]]]) -> list[tuple[np.ndarray, ...]]:
    def part(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, ...]:
        v, a, x = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))
        return tuple(c.astype(np.int32) for c in (v, a, x * 10, x, x * 100 + v))

    return [part(rows) for rows in groups]


@settings(max_examples=300)
@given(st.lists(_PART, max_size=5), st.integers(1, 3), st.integers(1, 8), st.sampled_from([0, 2**23]))
def test_merge_pairs_is_a_stable_lexsort_of_the_groups(
    groups: list[list[tuple[int, int, int]]], workers: int, block: int, copy_max: int
) -> None:
    # Repeated pairs are allowed here (the generator never makes them) to pin the stable order.
    # Groups come sorted by volunteer (stably), as candidate generation makes them.
    parts = [tuple(c[np.argsort(p[0], kind="stable")] for c in p) for p in _parts(groups)]
    whole = [np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.int64) for k in range(5)]
    order = np.lexsort((whole[1], whole[0]))
    # Read from one copy of the groups (small pools) or from a typed list of them (large ones).
    with mock.patch("matcher.pairkernel.COPY_MAX_PAIRS", copy_max):
        merged = merge_pairs(list(parts), 7, workers, block)
    assert [m.tolist() for m in merged] == [w[order].tolist() for w in whole]
    assert [m.dtype for m in merged] == [np.int32] * 5


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("copy_max", [0, 2**23])
def test_merge_pairs_refuses_a_group_out_of_volunteer_order(workers: int, copy_max: int) -> None:
    # Blocks of 1 pair: volunteer 5's pair sits before volunteer 1's, so it lands in a block it is not in.
    parts = _parts([[(5, 0, 1), (1, 0, 2)], [(0, 1, 0), (3, 2, 0), (6, 0, 0)]])
    with mock.patch("matcher.pairkernel.COPY_MAX_PAIRS", copy_max), pytest.raises(ValueError, match="not sorted"):
        merge_pairs(parts, 7, workers, 1)
