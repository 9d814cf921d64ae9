"""Shared test helpers: run the engine on a JSON-like document."""

from __future__ import annotations

from typing import Any

import matcher
from matcher.result import MatchResult


def solve_doc(doc: dict[str, Any], backend: str | None = None) -> MatchResult:
    return matcher.match(doc["volunteers"], doc["activities"], doc.get("policy"), backend=backend)


def compile_doc(doc: dict[str, Any]) -> matcher.Problem:
    """The compiled problem of a JSON-like document, through the models."""
    return matcher.compile_problem(
        matcher.records.coerce_volunteers(doc["volunteers"]),
        matcher.records.coerce_activities(doc["activities"]),
        matcher.records.coerce_policy(doc.get("policy")),
    )


def pairs(result: MatchResult) -> list[tuple[str, str]]:
    return [(a.volunteer_id, a.activity_id) for a in result.assignments]


def objective(result: MatchResult) -> tuple[int, int]:
    return result.objective.priority_filled, result.objective.total_cost


def assert_certified(result: MatchResult) -> matcher.Verification:
    """Feasible, and proven optimal: exactly by the LP-dual certificate, or by HiGHS for "milp"."""
    report = matcher.verify(result.problem, result)
    assert report.feasible, report.problems
    assert report.optimal is (None if result.certificate.kind == "milp" else True), report.problems
    return report


def overlap_possible(doc: dict[str, Any]) -> bool:
    """Could the no-overlap rule matter (a volunteer able to take two activities at all)?"""
    return any(v.get("max_activities", 1) > 1 for v in doc["volunteers"])
