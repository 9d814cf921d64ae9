"""Re-matches solved in stages (levels too wide for one 64-bit weight): exact, certified, checked."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import matcher
import matcher.costs
import matcher.lexicographic
from matcher.lexicographic import Lexicographic, level
from tests.helpers import assert_certified, pairs, solve_doc

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "community_week.json"


@st.composite
def level_cases(draw: st.DrawFn) -> tuple[list[list[int]], list[int], int, list[int], list[int]]:
    """Two to four levels (each maximised or minimised) over a few edges, a flow bound, and two
    selections within it."""
    n = draw(st.integers(1, 6))
    values = draw(st.lists(st.lists(st.integers(-4, 4), min_size=n, max_size=n), min_size=2, max_size=4))
    signs = [draw(st.sampled_from([1, -1])) for _ in values]
    flow = draw(st.integers(1, n))
    sets = st.lists(st.integers(0, n - 1), unique=True, max_size=flow)
    return values, signs, flow, draw(sets), draw(sets)


@given(level_cases())
# The widest lower level: its totals differ by 2 * 4 * flow between two selections.
@example(([[1, 0], [-4, 4]], [1, 1], 1, [0], [1]))
@example(([[0, 1], [4, -4]], [-1, -1], 1, [0], [1]))
def test_one_folded_weight_ranks_selections_lexicographically(
    case: tuple[list[list[int]], list[int], int, list[int], list[int]],
) -> None:
    values, signs, flow, first, second = case
    levels = tuple(
        level(f"l{k}", np.array(v, dtype=np.int64), flow, sign=sign)
        for k, (v, sign) in enumerate(zip(values, signs, strict=True))
    )
    zeros = np.zeros(len(values[0]), dtype=np.int64)
    weight = Lexicographic(levels, (len(levels),), flow, zeros, zeros).weight(0, None)

    def ranked(chosen: list[int]) -> tuple[int, ...]:
        return tuple(sign * sum(v[e] for e in chosen) for v, sign in zip(values, signs, strict=True))

    folded = int(weight[first].sum()) - int(weight[second].sum())
    expected = ranked(first) > ranked(second)
    assert (folded > 0) is expected
    assert (folded == 0) is (ranked(first) == ranked(second))


def single_activity_pool() -> dict[str, Any]:
    """The bundled example with every volunteer taking one activity: no overlaps, an LP-dual proof."""
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for vol in doc["volunteers"]:
        vol["max_activities"] = 1
    return doc


def changes_for(first: matcher.MatchResult) -> dict[str, Any]:
    chosen = [{"volunteer_id": a.volunteer_id, "activity_id": a.activity_id} for a in first.assignments]
    return {"declined": chosen[::4], "accepted": chosen[2::4]}


def again(doc: dict[str, Any], first: Any, changes: Any, **kw: Any) -> matcher.MatchResult:
    return matcher.rematch(doc["volunteers"], doc["activities"], doc.get("policy"), first, changes, **kw)


@pytest.mark.parametrize("weight", [None, 40])
def test_stages_give_the_combined_weights_answer_with_every_stage_proven(weight: int | None) -> None:
    doc = single_activity_pool()
    first = solve_doc(doc)
    changes = changes_for(first)
    combined = again(doc, first, changes, disruption_weight=weight, lexicographic=False)
    staged = again(doc, first, changes, disruption_weight=weight, lexicographic=True)
    assert combined.certificate.levels == ()
    names = ["pins", "priority", "changes", "cost"] if weight is None else ["pins", "priority", "cost"]
    assert [list(s.levels) for s in staged.certificate.stages] + [list(staged.certificate.levels)] == [
        [n] for n in names
    ]
    # The tie-break picks among the same optimal selections, so the two agree exactly.
    assert pairs(staged) == pairs(combined)
    assert staged.objective == combined.objective
    assert staged.rematch is not None
    assert combined.rematch is not None
    assert staged.rematch.changes == combined.rematch.changes
    assert staged.certificate.kind == "lp_dual"
    assert assert_certified(staged).optimal is True
    document = staged.to_document()
    assert [s["levels"] for s in document["certificate"]["stages"]] == [[n] for n in names[:-1]]
    assert matcher.verify(staged.problem, json.loads(json.dumps(document))).optimal is True


def test_stages_do_not_depend_on_backend_or_record_order() -> None:
    doc = single_activity_pool()
    first = solve_doc(doc)
    changes = changes_for(first)
    reference = again(doc, first, changes, lexicographic=True).to_document()
    shuffled = copy.deepcopy(doc)
    shuffled["volunteers"].reverse()
    shuffled["activities"] = shuffled["activities"][1::2] + shuffled["activities"][::2]
    assert again(shuffled, first, changes, lexicographic=True).to_document() == reference
    other = again(doc, first, changes, lexicographic=True, backend="ortools").to_document()
    assert other["certificate"] == reference["certificate"]
    assert other["assignments"] == reference["assignments"]


def test_verify_rebuilds_each_stage_and_catches_tampering() -> None:
    doc = single_activity_pool()
    first = solve_doc(doc)
    result = again(doc, first, changes_for(first), lexicographic=True)
    document = result.to_document()
    stage = document["certificate"]["stages"][1]  # priority: its prices are not all zero
    assert stage["activity_prices"]
    bad_price = copy.deepcopy(document)
    aid = sorted(bad_price["certificate"]["stages"][1]["activity_prices"])[0]
    bad_price["certificate"]["stages"][1]["activity_prices"][aid] += 1
    report = matcher.verify(result.problem, bad_price)
    assert report.optimal is False
    assert any(p.startswith("stage 2 certificate does not prove optimality") for p in report.problems)
    assert any(p.startswith("certificate stage 2 reports dual_objective") for p in report.problems)
    swapped = copy.deepcopy(document)
    stages = swapped["certificate"]["stages"]
    stages[0]["levels"], stages[1]["levels"] = stages[1]["levels"], stages[0]["levels"]
    report = matcher.verify(result.problem, swapped)
    assert not report.ok
    assert any("do not name the re-match levels in order" in p for p in report.problems)
    merged = copy.deepcopy(document)
    merged["certificate"]["stages"] = []
    merged["certificate"]["levels"] = ["pins"]
    report = matcher.verify(result.problem, merged)
    assert any("do not split the re-match levels" in p for p in report.problems)
    # A dropped assignment keeps the final stage's prices from closing the gap.
    fewer = copy.deepcopy(document)
    fewer["assignments"] = fewer["assignments"][1:]
    assert matcher.verify(result.problem, fewer).ok is False


def test_levels_too_wide_for_one_weight_are_folded_into_as_few_stages_as_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = single_activity_pool()
    first = solve_doc(doc)
    changes = changes_for(first)
    expected = again(doc, first, changes)
    assert expected.certificate.levels == ()
    # The same arithmetic as at 300k volunteers, on a small pool: a narrower integer.
    for module in (matcher.costs, matcher.lexicographic):
        monkeypatch.setattr(module, "INT64_MAX", 2**36)
    with pytest.raises(matcher.CostRangeError):
        again(doc, first, changes, lexicographic=False)
    result = again(doc, first, changes)
    cert = result.certificate
    assert [list(s.levels) for s in cert.stages] + [list(cert.levels)] == [["pins", "priority", "changes"], ["cost"]]
    assert pairs(result) == pairs(expected)
    assert result.objective == expected.objective
    assert matcher.verify(result.problem, result.to_document()).optimal is True
    # No stage may fold more than the limit allows, whatever a certificate claims.
    claimed = result.to_document()
    claimed["certificate"]["stages"] = []
    claimed["certificate"]["levels"] = ["pins", "priority", "changes", "cost"]
    report = matcher.verify(result.problem, claimed)
    assert any("cost_range" in p for p in report.problems)


def test_menu_rules_are_refused_in_stages_with_a_clear_error() -> None:
    doc = {
        "volunteers": [{"id": "v1"}, {"id": "v2"}],
        "activities": [
            {
                "id": "a",
                "start": "2026-12-07T09:00:00+08:00",
                "end": "2026-12-07T11:00:00+08:00",
                "capacity": 2,
                "roles": [{"name": "lead", "count": 1}, {"name": "helper", "count": 1}],
            }
        ],
        "policy": {"selection": "open"},
    }
    first = solve_doc(doc)
    with pytest.raises(matcher.CostRangeError) as info:
        again(doc, first, None, lexicographic=True)
    assert "integer program" in str(info.value)
    assert again(doc, first, None).certificate.levels == ()


def test_every_stage_split_of_the_levels_reaches_the_same_optimum() -> None:
    doc = single_activity_pool()
    first = solve_doc(doc)
    changes = changes_for(first)
    reference = again(doc, first, changes)
    p = reference.problem
    previous = [(a.volunteer_id, a.activity_id) for a in first.assignments]
    accepted = [(x["volunteer_id"], x["activity_id"]) for x in changes["accepted"]]
    declined = [(x["volunteer_id"], x["activity_id"]) for x in changes["declined"]]
    edges, costs, _, previous_mask, pinned = matcher.rematching.rematch_inputs(p, previous, accepted, declined, None)
    for cut in itertools.product([False, True], repeat=3):
        sizes: list[int] = [1]
        for split in cut:
            sizes = [*sizes, 1] if split else [*sizes[:-1], sizes[-1] + 1]
        objective = matcher.rematch_objective.rematch_objective(
            p, edges, costs, previous_mask, pinned, None, sizes=tuple(sizes)
        )
        result = matcher.pipeline.solve_edges(p, edges, costs, objective)
        assert np.array_equal(result.chosen, reference.chosen), sizes
