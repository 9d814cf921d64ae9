"""verify names each way a document's assignments can be wrong, one message per wrong assignment."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import matcher
from matcher.rules_check import rule_violations
from tests.helpers import solve_doc

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "community_week.json"


@pytest.fixture(scope="module")
def solved() -> tuple[matcher.MatchResult, dict[str, Any]]:
    result = solve_doc(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    return result, result.to_document()


def _ineligible(result: matcher.MatchResult) -> tuple[str, str]:
    """A (volunteer, activity) pair that is not a candidate edge."""
    p, edges = result.problem, result.edges
    lo, hi = edges.span(0)
    taken = set(edges.act[lo:hi].tolist())
    j = next(j for j in range(p.n_activities) if j not in taken)
    return p.volunteer_ids[0], p.activity_ids[j]


def _unknown(doc: dict[str, Any], result: matcher.MatchResult) -> str:
    aid = doc["assignments"][1]["activity_id"]
    doc["assignments"][1]["volunteer_id"] = "ghost"
    return f"assignment ('ghost', {aid!r}) names an unknown id"


def _not_eligible(doc: dict[str, Any], result: matcher.MatchResult) -> str:
    vid, aid = _ineligible(result)
    doc["assignments"][2].update(volunteer_id=vid, activity_id=aid)
    return f"volunteer {vid!r} is not eligible for activity {aid!r}"


def _twice(doc: dict[str, Any], result: matcher.MatchResult) -> str:
    item = doc["assignments"][3]
    doc["assignments"].insert(4, copy.deepcopy(item))  # mid-document: later assignments still line up
    return f"volunteer {item['volunteer_id']!r} is assigned to activity {item['activity_id']!r} twice"


def _cost(doc: dict[str, Any], result: matcher.MatchResult) -> str:
    item = doc["assignments"][4]
    item["cost"] += 1
    pair = f"({item['volunteer_id']!r}, {item['activity_id']!r})"
    return f"assignment {pair} reports cost {item['cost']}, expected {item['cost'] - 1}"


def _terms(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any], matcher.MatchResult], str]:
    def tamper(doc: dict[str, Any], result: matcher.MatchResult) -> str:
        item = doc["assignments"][5]
        item["cost_terms"] = change(item["cost_terms"])
        return f"assignment ({item['volunteer_id']!r}, {item['activity_id']!r}) reports wrong cost terms"

    return tamper


@pytest.mark.parametrize(
    "tamper",
    [
        _unknown,
        _not_eligible,
        _twice,
        _cost,
        _terms(lambda t: {**t, "distance": t["distance"] + 1}),
        _terms(lambda t: {**t, "bonus": 0}),
        _terms(lambda t: {k: v for k, v in t.items() if k != "rating"}),
        _terms(lambda t: list(t.values())),
    ],
    ids=["unknown", "not-eligible", "twice", "cost", "term-value", "term-extra", "term-missing", "term-list"],
)
def test_each_wrong_assignment_is_named_once(
    solved: tuple[matcher.MatchResult, dict[str, Any]],
    tamper: Callable[[dict[str, Any], matcher.MatchResult], str],
) -> None:
    result, clean = solved
    assert matcher.verify(result.problem, clean).problems == ()
    doc = copy.deepcopy(clean)
    message = tamper(doc, result)
    report = matcher.verify(result.problem, doc)
    about_items = [p for p in report.problems if p.startswith(("assignment (", "volunteer")) and "exceeds" not in p]
    assert about_items == [message], report.problems
    assert not report.feasible


def test_several_wrong_assignments_are_named_in_document_order(
    solved: tuple[matcher.MatchResult, dict[str, Any]],
) -> None:
    result, clean = solved
    doc = copy.deepcopy(clean)
    unknown, ineligible, cost, twice = (f(doc, result) for f in (_unknown, _not_eligible, _cost, _twice))
    expected = [unknown, ineligible, twice, cost]  # the duplicate went in at 4, the wrong cost moved to 5
    problems = matcher.verify(result.problem, doc).problems
    assert [p for p in problems if p in expected] == expected


def test_roles_a_volunteer_does_not_fit_are_named() -> None:
    social = {"name": "社工", "count": 1, "min": 1, "requirements": [{"skill": "社工", "min_level": 1}]}
    doc = {
        "volunteers": [{"id": "sw", "skills": {"社工": 2}}, {"id": "v1"}, {"id": "v2"}],
        "activities": [
            {
                "id": "visit",
                "start": "2026-12-01T09:00:00+08:00",
                "end": "2026-12-01T11:00:00+08:00",
                "capacity": 3,
                "roles": [social, {"name": "志愿者", "count": 2}],
            }
        ],
        "policy": {"selection": "open"},
    }
    result = solve_doc(doc)
    clean = result.to_document()
    assert matcher.verify(result.problem, clean).ok
    swapped = copy.deepcopy(clean)
    for item in swapped["assignments"]:
        item["role"] = "社工" if item["volunteer_id"] == "v1" else item["role"]
    problems = matcher.verify(result.problem, swapped).problems
    assert "volunteer 'v1' has no role at activity 'visit' they fit" in problems
    unnamed = copy.deepcopy(clean)
    for item in unnamed["assignments"]:
        item.pop("role", None)
    problems = matcher.verify(result.problem, unnamed).problems
    assert sum("has no role at activity 'visit' they fit" in p for p in problems) == 3


def test_a_role_at_an_activity_without_roles_is_named() -> None:
    doc = {
        "volunteers": [{"id": "v1"}, {"id": "v2"}],
        "activities": [
            {
                "id": "visit",
                "start": "2026-12-01T09:00:00+08:00",
                "end": "2026-12-01T11:00:00+08:00",
                "capacity": 1,
                "roles": [{"name": "志愿者", "count": 1}],
            },
            {"id": "clean", "start": "2026-12-01T13:00:00+08:00", "end": "2026-12-01T14:00:00+08:00", "capacity": 1},
        ],
        "policy": {"selection": "open"},
    }
    result = solve_doc(doc)
    assert result.roles is not None
    assert rule_violations(result.problem, result.edges, result.chosen, result.roles) == []
    on_clean = result.chosen & (result.edges.act == result.problem.activity_index["clean"])
    assert on_clean.sum() == 1
    role = result.roles.copy()
    role[on_clean] = 0
    problems = rule_violations(result.problem, result.edges, result.chosen, role)
    # The role is now also filled twice.
    assert problems == ["activity 'clean' has no roles to fill", "role '志愿者' is over its count"]
