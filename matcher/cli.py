"""The ``matcher`` command line: solve, rematch, candidates, validate, verify, explain, schema.

Exit codes: 0 success, 2 invalid input (one line per problem on stderr, naming record id and
field), 1 anything else. Output files are written atomically.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from matcher.atomic import write_atomic
from matcher.costs import COST_TERMS
from matcher.errors import InputError, MatcherError
from matcher.fastpath import compile_records, load_problem
from matcher.models import ProblemDocument
from matcher.pipeline import prepare, solve
from matcher.problem import Problem
from matcher.progress import StageTimer, StderrProgress
from matcher.records import coerce_policy, parse_document, read_bytes, read_json
from matcher.rematching import apply_changes, coerce_changes, rematch
from matcher.result import MatchResult
from matcher.solvers import BACKENDS, DEFAULT_BACKEND
from matcher.tables import load_tables, read_table, table_records
from matcher.verify import verify

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_INPUT = 0, 1, 2


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _emit(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text)


def assignments_csv(result: MatchResult) -> str:
    """The assignments as CSV: ids, cost, its named terms, distance and preference rank."""
    header = ["volunteer_id", "activity_id", "cost", *COST_TERMS, "distance_km", "preference_rank"]
    rows = (
        [
            a.volunteer_id,
            a.activity_id,
            a.cost,
            *(a.cost_terms[t] for t in COST_TERMS),
            "" if a.distance_km is None else a.distance_km,
            "" if a.preference_rank is None else a.preference_rank,
        ]
        for a in result.assignments
    )
    return _csv_text(header, rows)


def _load(args: argparse.Namespace) -> Problem:
    """The problem named on the command line: one JSON document, or a volunteers and an activities table."""
    paths = args.problem
    if len(paths) == 1:
        if args.policy is not None:
            raise InputError.single("document", "", "", "--policy is for tables; a JSON document has its own", "usage")
        return load_problem(paths[0])
    if len(paths) != 2:
        raise InputError.single(
            "document", "", "", "give one JSON document, or volunteers and activities tables", "usage"
        )
    policy = read_json(read_bytes(args.policy)) if args.policy is not None else None
    return load_tables(paths[0], paths[1], policy, encoding=args.encoding)


def _result_text(result: MatchResult, args: argparse.Namespace) -> str:
    if args.format == "csv":
        return assignments_csv(result)
    if args.format == "hours":
        rows = ((h.volunteer_id, h.activities, h.hours) for h in result.service_hours())
        return _csv_text(["volunteer_id", "activities", "hours"], rows)
    return result.to_json(include_timings=args.timings, waitlist=args.waitlist)


def _cmd_solve(args: argparse.Namespace) -> int:
    progress = None if args.quiet else StderrProgress()
    timer = StageTimer(progress)
    with timer("read+validate"):
        problem = _load(args)
    result = solve(problem, backend=args.backend, timer=timer, mode=args.mode)
    with timer("write"):
        _emit(_result_text(result, args), args.output)
    if progress is not None:
        progress.finish()
    return EXIT_OK


def _records(args: argparse.Namespace) -> tuple[list[Any], list[Any], Any]:
    """Records, not a compiled problem: a re-match edits the pool before compiling it."""
    paths = args.problem
    if len(paths) == 1:
        raw = read_json(read_bytes(paths[0]))
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("volunteers"), list)
            or not isinstance(raw.get("activities"), list)
        ):
            doc = parse_document(read_bytes(paths[0]))  # raises the contract's own issues
            return list(doc.volunteers), list(doc.activities), doc.policy
        return raw["volunteers"], raw["activities"], raw.get("policy")
    if len(paths) != 2:
        raise InputError.single(
            "document", "", "", "give one JSON document, or volunteers and activities tables", "usage"
        )
    policy = read_json(read_bytes(args.policy)) if args.policy is not None else None
    vols, acts = table_records(
        read_table(paths[0], encoding=args.encoding), read_table(paths[1], encoding=args.encoding)
    )
    return vols, acts, policy


def _cmd_rematch(args: argparse.Namespace) -> int:
    volunteers, activities, policy = _records(args)
    previous = read_json(read_bytes(args.previous))
    if not isinstance(previous, dict):
        raise InputError.single("previous", "", "", "expected a result document (a JSON object)", "invalid")
    changes = read_json(read_bytes(args.changes)) if args.changes is not None else None
    result = rematch(
        volunteers,
        activities,
        policy,
        previous,
        changes,
        disruption_weight=args.disruption_weight,
        backend=args.backend,
    )
    _emit(_result_text(result, args), args.output)
    return EXIT_OK


def _cmd_candidates(args: argparse.Namespace) -> int:
    p = _load(args)
    edges, costs, _objective = prepare(p)
    total = costs.total.tolist()
    rows = (
        (p.volunteer_ids[v], p.activity_ids[a], c)
        for v, a, c in zip(edges.vol.tolist(), edges.act.tolist(), total, strict=True)
    )
    _emit(_csv_text(["volunteer_id", "activity_id", "cost"], rows), args.output)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    p = _load(args)
    print(f"valid: {p.n_volunteers} volunteers, {p.n_activities} activities")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    *args.problem, result_path = args.problem
    if args.changes is None:
        p = _load(args)
    else:
        # A re-match result is checked against the pool after its changes.
        volunteers, activities, policy = _records(args)
        changes = coerce_changes(read_json(read_bytes(args.changes)))
        p = compile_records(*apply_changes(volunteers, activities, changes), coerce_policy(policy))
    try:
        with open(result_path, encoding="utf-8") as handle:
            result_doc = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"matcher: error: cannot read result file: {type(exc).__name__}", file=sys.stderr)
        return EXIT_INPUT
    report = verify(p, result_doc)
    for line in report.problems:
        print(f"matcher: {line}", file=sys.stderr)
    status, kind = result_doc.get("status"), result_doc.get("certificate", {}).get("kind")
    if status == "feasible":
        unproven = f"best plan within the time limit, proven gap {result_doc.get('rules', {}).get('gap')}"
    elif kind == "milp":
        unproven = "optimal per MILP solver"
    else:
        unproven = f"no optimality claim ({status} mode)"
    proof = {True: "optimal (LP-dual certificate checked)", None: unproven, False: "NOT proven optimal"}
    print(f"{'feasible' if report.feasible else 'INFEASIBLE'}; {proof[report.optimal]}")
    return EXIT_OK if report.ok else EXIT_FAILURE


def _cmd_explain(args: argparse.Namespace) -> int:
    if not args.volunteer and not args.activity:
        raise InputError.single("document", "", "", "name at least one --volunteer or --activity to explain", "usage")
    result = solve(_load(args), backend=args.backend)
    doc: dict[str, object] = {}
    if args.volunteer:
        doc["volunteers"] = [result.explain_volunteer(v, args.activity).to_dict() for v in args.volunteer]
    else:
        doc["activities"] = [result.explain_activity(a).to_dict() for a in args.activity]
    _emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", args.output)
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    schema = ProblemDocument.model_json_schema()
    _emit(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", args.output)
    return EXIT_OK


def _problem_arguments(parser: argparse.ArgumentParser, extra: str = "") -> None:
    parser.add_argument(
        "problem",
        nargs="+",
        help="a JSON problem document, or a volunteers and an activities table (.csv or .parquet) " + extra,
    )
    parser.add_argument("--policy", help="policy JSON file for tables (default: the default policy)")
    parser.add_argument(
        "--encoding", default="utf-8", help="encoding of CSV tables: utf-8 (a BOM is fine) or gb18030 (default utf-8)"
    )


def _result_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=["json", "csv", "hours"],
        default="json",
        help="json document, CSV of assignments, or CSV of service hours per assigned volunteer",
    )
    parser.add_argument("--backend", choices=sorted(BACKENDS), default=DEFAULT_BACKEND)
    parser.add_argument("--timings", action="store_true", help="include per-stage seconds in the JSON result")
    parser.add_argument(
        "--waitlist", type=int, default=0, metavar="K", help="add up to K ordered backups per activity to the JSON"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools)."""
    parser = argparse.ArgumentParser(prog="matcher", description="Match volunteers to menu activities, optimally.")
    sub = parser.add_subparsers(dest="command", required=True)

    solve = sub.add_parser("solve", help="solve a problem and write the result")
    _problem_arguments(solve)
    solve.add_argument("-o", "--output", help="result file (default: standard output)")
    _result_arguments(solve)
    solve.add_argument(
        "--mode",
        choices=["optimal", "stable", "first_come"],
        default="optimal",
        help="optimal (default, certified), or the stable / first-come dispatch for comparison",
    )
    solve.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")
    solve.set_defaults(func=_cmd_solve)

    again = sub.add_parser(
        "rematch",
        help="re-match after declines, cancellations and edits, changing as few assignments as possible",
    )
    _problem_arguments(again)
    again.add_argument("--previous", required=True, help="the previous result document (JSON)")
    again.add_argument("--changes", help="changes JSON: accepted, declined, cancelled_activities, ... (see README)")
    again.add_argument(
        "--disruption-weight",
        type=int,
        default=None,
        help="cost points per changed assignment instead of fewest changes first (default: fewest changes first)",
    )
    again.add_argument("-o", "--output", help="result file (default: standard output)")
    _result_arguments(again)
    again.set_defaults(func=_cmd_rematch)

    cand = sub.add_parser("candidates", help="write every eligible pair with its cost as CSV")
    _problem_arguments(cand)
    cand.add_argument("-o", "--output", help="CSV file (default: standard output)")
    cand.set_defaults(func=_cmd_candidates)

    val = sub.add_parser("validate", help="check a problem")
    _problem_arguments(val)
    val.set_defaults(func=_cmd_validate)

    ver = sub.add_parser("verify", help="check a result against its problem (feasibility and certificate)")
    _problem_arguments(ver, extra="and then the result document")
    ver.add_argument("--changes", help="for a re-match result: the changes file it was computed with")
    ver.set_defaults(func=_cmd_verify)

    expl = sub.add_parser(
        "explain",
        help="explain outcomes as JSON: per volunteer (why (not) picked) or per activity (the funnel)",
        description="With --volunteer: each named volunteer's outcome on the activities they ranked or got, "
        "plus any --activity given. With only --activity: each activity's funnel.",
    )
    _problem_arguments(expl)
    expl.add_argument("--volunteer", action="append", default=[], help="volunteer id (repeatable)")
    expl.add_argument("--activity", action="append", default=[], help="activity id (repeatable)")
    expl.add_argument("-o", "--output", help="JSON file (default: standard output)")
    expl.add_argument("--backend", choices=sorted(BACKENDS), default=DEFAULT_BACKEND)
    expl.set_defaults(func=_cmd_explain)

    schema = sub.add_parser("schema", help="print the JSON Schema of the problem document")
    schema.add_argument("-o", "--output")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except InputError as exc:
        for issue in exc.issues:
            print(f"matcher: invalid input: {issue}", file=sys.stderr)
        return EXIT_INPUT
    except MatcherError as exc:
        print(f"matcher: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(
            f"matcher: error: cannot write {exc.filename or 'output'}: {exc.strerror or type(exc).__name__}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("MATCHER_TRACEBACK"):
            raise
        print(f"matcher: internal error ({type(exc).__name__}); set MATCHER_TRACEBACK=1 for details", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
