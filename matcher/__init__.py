"""matcher: exact, certified matching of volunteers to the activities on a published menu.

>>> import matcher
>>> result = matcher.match([], [])
>>> result.status, result.objective.priority_filled
('optimal', 0)
"""

from matcher.candidates import Edges, candidate_edges
from matcher.costs import COST_TERMS, CostTerms, Objective, objective_weights, pair_costs
from matcher.errors import CostRangeError, InputError, InputIssue, MatcherError, SolverError, UnknownBackendError
from matcher.explain import ActivityExplanation, VolunteerExplanation
from matcher.fastpath import compile_records, load_problem, parse_problem
from matcher.models import (
    Activity,
    Changes,
    Location,
    PairRef,
    Policy,
    ProblemDocument,
    Requirement,
    TimeWindow,
    Volunteer,
    Weights,
)
from matcher.pipeline import match, match_document, prepare, price_of_stability, solve
from matcher.problem import Problem, compile_problem
from matcher.recommend import Recommendation
from matcher.records import load_document, parse_document
from matcher.rematching import RematchSummary, rematch, solve_rematch
from matcher.report import FairnessReport, ServiceHours
from matcher.result import Assignment, Certificate, MatchResult, ObjectiveValue, Unassigned, Unfilled
from matcher.solvers import BACKENDS, DEFAULT_BACKEND
from matcher.tables import load_tables, problem_from_tables
from matcher.verify import Verification, verify

__all__ = [
    "BACKENDS",
    "COST_TERMS",
    "DEFAULT_BACKEND",
    "Activity",
    "ActivityExplanation",
    "Assignment",
    "Certificate",
    "Changes",
    "CostRangeError",
    "CostTerms",
    "Edges",
    "FairnessReport",
    "InputError",
    "InputIssue",
    "Location",
    "MatchResult",
    "MatcherError",
    "Objective",
    "ObjectiveValue",
    "PairRef",
    "Policy",
    "Problem",
    "ProblemDocument",
    "Recommendation",
    "RematchSummary",
    "Requirement",
    "ServiceHours",
    "SolverError",
    "TimeWindow",
    "Unassigned",
    "Unfilled",
    "UnknownBackendError",
    "Verification",
    "Volunteer",
    "VolunteerExplanation",
    "Weights",
    "candidate_edges",
    "compile_problem",
    "compile_records",
    "load_document",
    "load_problem",
    "load_tables",
    "match",
    "match_document",
    "objective_weights",
    "pair_costs",
    "parse_document",
    "parse_problem",
    "prepare",
    "price_of_stability",
    "problem_from_tables",
    "rematch",
    "solve",
    "solve_rematch",
    "verify",
]

__version__ = "0.1.0"
