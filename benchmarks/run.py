"""Benchmark: end-to-end stage timings and the solver baselines on the identical network.

    python benchmarks/run.py --scale S            # prints a table, writes benchmarks/RESULTS.md
    python benchmarks/run.py --scale M --flow-only --cap 300
    python benchmarks/run.py --scale XL --cli-only --repeat 1   # ~21 GB: only the fresh process

Every figure is a median over ``--repeat`` runs in this process; baselines run on exactly the
flow network the pipeline solved, and every baseline's objective is checked against ours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import FAMILIES, SCALES, generate

import matcher
from matcher.atomic import write_atomic
from matcher.certificate import flow_duals
from matcher.pipeline import flow_input
from matcher.progress import StageTimer
from matcher.solvers import BACKENDS, DEFAULT_BACKEND, FlowInput
from matcher.sparsify import solve_flow
from matcher.tiebreak import canonical_selection

STAGES = [
    "read+validate",
    "candidates",
    "costs",
    "solve",
    "tie-break",
    "duals",
    "overlaps",
    "certify",
    "result",
    "write",
]
HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def end_to_end(problem_path: Path, out_path: Path) -> tuple[dict[str, float], matcher.MatchResult]:
    timer = StageTimer()
    with timer("read+validate"):
        p = matcher.load_problem(problem_path)
    result = matcher.solve(p, timer=timer)
    with timer("write"):
        write_atomic(out_path, result.to_json())
    return dict(timer.seconds), result


def per_record_read(problem_path: Path) -> matcher.Problem:
    """The read before the typed decoder, as a same-run baseline: json.loads, then checks per record."""
    from matcher.fastpath import compile_records
    from matcher.gcpause import gc_paused
    from matcher.records import coerce_policy, read_bytes, read_json

    with gc_paused():
        raw = read_json(read_bytes(problem_path))
        return compile_records(raw["volunteers"], raw["activities"], coerce_policy(raw.get("policy")))


def time_call(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), value


def capped(backend: str, fi_path: Path, repeat: int, cap: float) -> tuple[float, int] | None:
    """Median seconds and optimum of a backend, run in a child process that ``cap`` seconds stop."""
    code = (
        f"import sys, time, statistics, numpy as np; sys.path.insert(0, {str(HERE.parent)!r})\n"
        "from matcher.solvers import FlowInput, BACKENDS\n"
        f"z = np.load({str(fi_path)!r}); fi = FlowInput(z['lc'], z['rc'], z['tail'], z['head'], z['w'])\n"
        "times = []\n"
        f"for _ in range({repeat}):\n"
        f"    t = time.perf_counter(); x = BACKENDS[{backend!r}](fi); times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times), int(z['w'][x].sum()))\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=cap, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        # A backend may refuse a network (HiGHS: weights whose sums are not exact in float64).
        if exc.returncode < 0:
            # Signal 9 is what the kernel's out-of-memory killer sends (HiGHS at L holds ~17 GB).
            raise BackendRefusedError(f"killed by signal {-exc.returncode} (9: out of memory)") from None
        lines = exc.stderr.strip().splitlines()
        raise BackendRefusedError("refused: " + (lines[-1] if lines else f"exit status {exc.returncode}")) from None
    seconds, weight = out.stdout.split()
    return float(seconds), int(weight)


class BackendRefusedError(Exception):
    """A baseline backend raised instead of solving; the table says so."""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB, {cpu}, {platform.system()} {platform.machine()}"


def versions() -> str:
    names = ["numpy", "scipy", "networkx", "pydantic", "ortools", "numba", "highspy", "msgspec"]
    return ", ".join(f"{n} {metadata.version(n)}" for n in names) + f", Python {platform.python_version()}"


def ours(fi: FlowInput) -> np.ndarray:
    """matcher's solve stage on the flow network: sparsified solve, duals, tie-break (as in solve())."""
    flow = solve_flow(fi, BACKENDS[DEFAULT_BACKEND])
    chosen = canonical_selection(fi, flow.u, flow.y, lambda e: (e * 2654435761) % (2**31))
    if not flow.canonical_duals:
        flow_duals(fi, chosen, within=flow.kept)  # the published certificate's prices, as solve() computes them
    return chosen


def baselines(fi: FlowInput, repeat: int, cap: float, tmp: Path) -> list[str]:
    """Time every backend on the identical flow network; check they agree; return table lines.

    HiGHS and networkx run in child processes so that ``cap`` can stop them.
    """
    timings: dict[str, float | None] = {}
    seconds, chosen = time_call(lambda: BACKENDS["ortools"](fi), repeat)
    timings["ortools"] = seconds
    optimum = int(fi.weight[np.asarray(chosen)].sum())
    seconds, own = time_call(lambda: BACKENDS["augment"](fi), repeat)
    if int(fi.weight[np.asarray(own)].sum()) != optimum:
        raise SystemExit("the augmenting-path backend disagrees with OR-Tools on the optimum")
    timings["augment (whole graph, selection only)"] = seconds
    seconds, mine = time_call(lambda: ours(fi), repeat)
    if int(fi.weight[np.asarray(mine)].sum()) != optimum:
        raise SystemExit("matcher's sparsified solve disagrees with OR-Tools on the optimum")
    timings["matcher (sparsified + duals + tie-break)"] = seconds
    fi_path = tmp / "flow.npz"
    np.savez(fi_path, lc=fi.left_cap, rc=fi.right_cap, tail=fi.tail, head=fi.head, w=fi.weight)
    refused: dict[str, str] = {}
    for name in ("highs", "networkx"):
        try:
            outcome = capped(name, fi_path, repeat if name == "highs" else 1, cap)
        except BackendRefusedError as exc:
            refused[name] = str(exc)
            continue
        if outcome is not None and outcome[1] != optimum:
            raise SystemExit(f"{name} disagrees on the optimum: {outcome[1]} != {optimum}")
        timings[name] = None if outcome is None else outcome[0]
    lines = [
        f"Flow solve alone on the identical network ({len(fi.tail):,} edges, before the no-overlap step), "
        "ratio to OR-Tools:",
        "",
        "| solver | seconds | × OR-Tools |",
        "|---|---:|---:|",
    ]
    base = timings["ortools"] or float("nan")
    for name, reason in refused.items():
        lines.append(f"| {name} | {reason} | — |")
    for name, seconds in timings.items():
        if seconds is None:
            lines.append(f"| {name} | > {cap:.0f} (stopped) | > {cap / base:.0f} |")
        else:
            lines.append(f"| {name} | {seconds:.3f} | {seconds / base:.2f} |")
    mine = timings["matcher (sparsified + duals + tie-break)"] or float("nan")
    nx = timings.get("networkx")
    lines.append("")
    if "networkx" in refused:
        pass
    elif nx is None:
        lines.append(
            f"matcher's solve stage vs networkx: more than {cap / mine:.0f}× faster (networkx stopped at {cap:.0f} s)."
        )
    else:
        lines.append(f"matcher's solve stage vs networkx: {nx / mine:.0f}× faster.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="city")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap", type=float, default=120.0, help="seconds before a slow baseline is stopped")
    parser.add_argument("--flow-only", action="store_true", help="only compare the backends on the flow network")
    parser.add_argument(
        "--cli-only",
        action="store_true",
        help="only `matcher solve` in fresh processes, stages from its --timings (XL: a second copy does not fit)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--queries", type=int, default=200, help="random ids per interactive call")
    parser.add_argument(
        "--rules", action="store_true", help="the menu-rules cost table (family menu_rules against its rules stripped)"
    )
    parser.add_argument(
        "--time-limits", default="10,60", help="with --rules: the time limits (seconds) to run the program under"
    )
    args = parser.parse_args()
    if args.rules:
        args.family = "menu_rules"

    scale = SCALES[args.scale]
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    family = "" if args.family == "city" else f", {args.family}"
    kind = " (flow solve only)" if args.flow_only else " (rules cost)" if args.rules else ""
    kind = " (fresh `matcher solve` only)" if args.cli_only else kind
    title = f"Scale {args.scale}{family}{kind}:"
    lines = [
        f"## {title} {scale.volunteers:,} volunteers × {scale.activities:,} activities",
        "",
        f"- command: `{command}`",
        f"- machine: {machine()}",
        f"- versions: {versions()}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        problem_path, out_path = pool(args), Path(tmp) / "result.json"
        if args.rules:
            lines += rules_table(problem_path, args)
        elif args.cli_only:
            lines += cli_run(problem_path, out_path, args.repeat)
        elif args.flow_only:
            p = matcher.load_problem(problem_path)
            edges, _, objective = matcher.prepare(p)
            lines += ["", *baselines(flow_input(p, edges, objective), args.repeat, args.cap, Path(tmp))]
        else:
            stage_lines, result = full_run(problem_path, out_path, args)
            lines += stage_lines
            lines += interactive(result, problem_path, args.queries, args.seed)
            lines += modes(result)
            _, _, objective = matcher.prepare(result.problem)
            fi = flow_input(result.problem, result.edges, objective)
            lines += ["", *baselines(fi, args.repeat, args.cap, Path(tmp))]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        path = HERE / "RESULTS.md"
        header = (
            "# Benchmark results\n\n"
            "Written by `benchmarks/run.py`; one section per scale, the newest run replaces its scale.\n\n"
        )
        old = path.read_text(encoding="utf-8") if path.exists() else header
        sections = [s for s in old.split("\n## ")[1:] if not s.startswith(title)]
        body = header + "".join("## " + s.rstrip("\n") + "\n\n" for s in sections) + text
        write_atomic(path, body)


def interactive(result: matcher.MatchResult, problem_path: Path, queries: int, seed: int) -> list[str]:
    """Latency of the per-person calls a platform serves interactively, on the solved result."""
    rng = np.random.default_rng(seed)
    p = result.problem
    vols = [p.volunteer_ids[i] for i in rng.choice(p.n_volunteers, size=min(queries, p.n_volunteers), replace=False)]
    acts = [p.activity_ids[j] for j in rng.choice(p.n_activities, size=min(queries, p.n_activities), replace=False)]
    began = time.perf_counter()
    _ = result.recommend_index
    index_s = time.perf_counter() - began
    # explain_volunteer's exact margins search the residual network; its index is built once too.
    began = time.perf_counter()
    _ = result.shortest_paths
    paths_s = time.perf_counter() - began
    calls: list[tuple[str, Callable[[str], object], list[str]]] = [
        ("recommend_activities(volunteer, 10)", lambda v: result.recommend_activities(v, 10), vols),
        ("recommend_volunteers(activity, 10)", lambda a: result.recommend_volunteers(a, 10), acts),
        ("waitlist(activity, 5)", lambda a: result.waitlist(a, 5), acts),
        ("explain_volunteer(volunteer)", result.explain_volunteer, vols[: max(queries // 10, 3)]),
        ("explain_activity(activity)", result.explain_activity, acts[: max(queries // 10, 3)]),
    ]
    lines = [
        "",
        f"Interactive calls on the solved result ({queries} random ids each, explanations on a tenth;"
        f" built once before them: the recommendation index in {index_s * 1000:.0f} ms, the residual"
        f" network's shortest-path index in {paths_s * 1000:.0f} ms):",
        "",
        "| call | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for name, fn, ids in calls:
        times = []
        for ident in ids:
            t0 = time.perf_counter()
            fn(ident)
            times.append((time.perf_counter() - t0) * 1000)
        lines.append(f"| `{name}` | {statistics.median(times):.2f} | {float(np.percentile(times, 95)):.2f} |")
    declined = [
        {"volunteer_id": a.volunteer_id, "activity_id": a.activity_id}
        for a in result.assignments[:: max(len(result.assignments) // 100, 1)]
    ]
    doc = json.loads(problem_path.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    try:
        again = matcher.rematch(doc["volunteers"], doc["activities"], doc.get("policy"), result, {"declined": declined})
    except matcher.CostRangeError as exc:
        # Levels too wide for one weight are solved in stages; a refusal here would be a regression.
        return [*lines, "", f"Re-match after {len(declined):,} declines: refused, {exc}"]
    seconds = time.perf_counter() - t0
    assert again.rematch is not None
    lines += [
        "",
        f"Re-match after {len(declined):,} declines (1 % of assignments), records in memory: {seconds:.2f} s,"
        f" {again.rematch.changes:,} changed assignments ({again.rematch.forced_out:,} forced out,"
        f" {again.rematch.dropped:,} dropped, {again.rematch.added:,} added);"
        f" {_stages_text(again.certificate)}.",
    ]
    return lines


def _stages_text(cert: matcher.Certificate) -> str:
    if not cert.levels:
        return "one combined weight"
    names = [" + ".join(s.levels) for s in cert.stages] + [" + ".join(cert.levels)]
    return f"solved in {len(names)} stages ({' -> '.join(names)})"


def modes(result: matcher.MatchResult) -> list[str]:
    """The comparison modes on the same compiled problem: time, fill, cost, blocking pairs."""
    rows = []
    for mode in ("optimal", "stable", "first_come"):
        t0 = time.perf_counter()
        r = result if mode == "optimal" else matcher.solve(result.problem, mode=mode)
        solving = sum(v for k, v in result.timings.items() if k not in ("read+validate", "write"))
        seconds = time.perf_counter() - t0 if mode != "optimal" else solving
        rows.append(
            f"| {mode} | {seconds:.2f} | {r.metrics['places_filled']:,} | {r.objective.priority_filled:,} |"
            f" {r.objective.total_cost:,} | {r.blocking_pairs():,} |"
        )
    return [
        "",
        "Modes on the same compiled problem (seconds from candidates to result, reading and writing excluded):",
        "",
        "| mode | seconds | places filled | priority filled | total cost | blocking pairs |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]


def _rules_row(data: bytes, repeat: int) -> str:
    """One row of the rules table: seconds, rules stage, places, cost, status, gap, program size."""
    runs = []
    result = None
    for _ in range(repeat):
        timer = StageTimer()
        began = time.perf_counter()
        result = matcher.solve(matcher.parse_problem(data), timer=timer)
        runs.append((time.perf_counter() - began, timer.seconds.get("rules", 0.0)))
    assert result is not None
    report = matcher.verify(result.problem, result)
    if not report.feasible:
        raise SystemExit(f"verification failed: {report.problems[:3]}")
    info = result.rules
    gap = f"{info.gap / result.certificate.scale:.1f}" if info is not None else "-"
    program = f"{info.program_edges:,}" if info is not None else "-"
    return (
        f"{statistics.median(r[0] for r in runs):.2f} | {statistics.median(r[1] for r in runs):.2f} |"
        f" {result.metrics['places_filled']:,} | {result.objective.total_cost:,} | {result.status} | {gap} |"
        f" {program}"
    )


def _rules_row_into(queue: Any, data: bytes, repeat: int) -> None:
    queue.put(_rules_row(data, repeat))


def _bounded_rules_row(data: bytes, repeat: int, cap: float) -> str | None:
    """:func:`_rules_row` in a fresh process, or None if it is still running after ``cap`` seconds.

    A fresh (spawned) process: a forked one can inherit locks held by the solver threads.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_rules_row_into, args=(queue, data, repeat))
    child.start()
    child.join(cap)
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    return str(queue.get()) if not queue.empty() else None


def strip_rules(doc: dict[str, Any]) -> dict[str, Any]:
    """The same pool with every menu rule removed."""
    vols = [{k: v for k, v in vol.items() if k not in ("max_hours", "max_hours_per_day")} for vol in doc["volunteers"]]
    acts = [{k: v for k, v in a.items() if k not in ("roles", "ratios", "min_volunteers")} for a in doc["activities"]]
    policy = {k: v for k, v in doc["policy"].items() if k not in ("min_rest_minutes", "together", "apart")}
    return {"volunteers": vols, "activities": acts, "policy": policy}


def rules_table(problem_path: Path, args: argparse.Namespace) -> list[str]:
    """What the menu rules cost: the same pool without them, and with them under each time limit."""
    doc = json.loads(problem_path.read_text(encoding="utf-8"))
    n_ruled = sum(1 for a in doc["activities"] if "roles" in a or "min_volunteers" in a)
    limits = [float(x) for x in args.time_limits.split(",")]
    variants: list[tuple[str, dict[str, Any]]] = [("rules ignored", strip_rules(doc))] + [
        (f"with rules, limit {limit:g} s", {**doc, "policy": {**doc["policy"], "time_limit_seconds": limit}})
        for limit in limits
    ]
    rows = []
    for name, variant in variants:
        data = json.dumps(variant, ensure_ascii=False).encode()
        row = _bounded_rules_row(data, args.repeat, args.cap)
        rows.append(f"| {name} | {row} |" if row else f"| {name} | stopped after {args.cap:g} s | | | | | | |")
    return [
        f"- menu rules on {n_ruled:,} of {len(doc['activities']):,} activities (teams led by a 社工 with a ratio,"
        f" minimum staffing), {sum(1 for v in doc['volunteers'] if 'max_hours' in v):,} hour caps,"
        f" {len(doc['policy']['together']):,} together and {len(doc['policy']['apart']):,} apart pairs, 30 min rest;"
        f" medians of {args.repeat} runs; seconds from JSON bytes in memory to the result",
        "",
        "| variant | seconds | rules stage s | places filled | total cost | status | proven gap (places) |"
        " program pairs |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
        *rows,
    ]


def pool(args: argparse.Namespace) -> Path:
    """The generated pool's JSON file, cached under ``benchmarks/.cache`` (generation is not timed)."""
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    path = cache / f"{args.scale}-{args.family}-{args.seed}.json"
    if not path.exists():
        began = time.perf_counter()
        doc = generate(SCALES[args.scale], args.seed, **FAMILIES[args.family])
        write_atomic(path, json.dumps(doc, ensure_ascii=False))
        print(f"generated {path.name} in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return path


# The child reports its own peak: VmHWM is its address space's high-water mark. ru_maxrss would
# not do on Linux, where exec carries over the parent's (the benchmark process's) peak.
_CLI = (
    "import sys\n"
    "from matcher.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "with open('/proc/self/status') as f:\n"
    "    print(next(line.split()[1] for line in f if line.startswith('VmHWM:')), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def fresh_cli(problem_path: Path, out_path: Path, *extra: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``matcher solve`` in a fresh process, as the child measures itself."""
    command = [sys.executable, "-c", _CLI, "solve", str(problem_path), "-o", str(out_path), "--quiet", *extra]
    began = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024.0


def cli_run(problem_path: Path, out_path: Path, repeat: int) -> list[str]:
    """Medians of ``matcher solve`` runs in fresh processes: wall seconds, peak RSS, stages from --timings.

    For pools where the in-process run (which keeps its result for the interactive calls) and a
    fresh process side by side would not fit in memory. The result is not verified again here
    (that needs the problem in memory as well); its certificate kind and fill are reported.
    """
    runs, stages = [], []
    for _ in range(repeat):
        runs.append(fresh_cli(problem_path, out_path, "--timings"))
        doc = json.loads(out_path.read_bytes())
        stages.append(doc["timings"])
    seconds = statistics.median(s for s, _ in runs)
    peak = statistics.median(m for _, m in runs)
    stage = {s: statistics.median(t.get(s, 0.0) for t in stages) for s in STAGES if s != "write"}
    metrics = doc["metrics"]
    return [
        f"- candidate pairs: {metrics['candidate_pairs']:,}; places filled {metrics['places_filled']:,} of "
        f"{metrics['places_offered']:,}; certificate `{doc['certificate']['kind']}`",
        f"- {repeat} fresh process{'es (medians)' if repeat > 1 else ''}; stages as the process timed them"
        " (`--timings`), the write is the remainder of the wall time with imports and start-up",
        "",
        "| stage | seconds |",
        "|---|---:|",
        *(f"| {s} | {v:.3f} |" for s, v in stage.items()),
        f"| write, imports, start-up | {seconds - sum(stage.values()):.3f} |",
        f"| **`matcher solve` in a fresh process** (file → result file) | **{seconds:.3f}** |",
        "",
        f"Peak RSS of that process: {peak:,.0f} MB.",
    ]


def full_run(problem_path: Path, out_path: Path, args: argparse.Namespace) -> tuple[list[str], matcher.MatchResult]:
    """Median stage timings of the whole pipeline, file to file, and the certified outcome."""
    runs, per_record_runs = [], []
    result = None
    if args.repeat > 1:
        # The process's first run also loads the compiled kernels and lazy imports (~0.4 s at M):
        # a platform's service pays that once, and the CLI line below shows it in full.
        end_to_end(problem_path, out_path)
    for _ in range(args.repeat):
        seconds, result = end_to_end(problem_path, out_path)
        runs.append(seconds)
        # Interleaved with the runs, so that the baseline meets the same machine weather.
        per_record_runs.append(time_call(lambda: per_record_read(problem_path), 1)[0])
    assert result is not None
    report = matcher.verify(result.problem, result)
    if not report.ok:
        raise SystemExit(f"verification failed: {report.problems[:3]}")
    stage = {s: statistics.median(r.get(s, 0.0) for r in runs) for s in STAGES}
    per_record = statistics.median(per_record_runs)
    total = statistics.median(sum(r.values()) for r in runs)
    # What a platform calling the CLI sees: a fresh process, imports and the compiled-kernel cache included.
    cli_runs = [fresh_cli(problem_path, out_path) for _ in range(args.repeat if args.scale in ("S", "M") else 1)]
    lines: list[str] = [
        f"- candidate pairs: {len(result.edges):,}; places filled {result.metrics['places_filled']:,} of "
        f"{result.metrics['places_offered']:,}; certificate `{result.certificate.kind}`"
        f" ({result.certificate.overlap_volunteers} volunteers needed no-overlap rows)",
        f"- peak RSS of the process: {peak_rss_mb():,.0f} MB; medians of {args.repeat} runs"
        + (" after an untimed warm-up run" if args.repeat > 1 else ""),
        "",
        "| stage | seconds |",
        "|---|---:|",
        *(f"| {s} | {stage[s]:.3f} |" for s in STAGES),
        f"| **end to end** (file → result file) | **{total:.3f}** |",
        f"| baseline: read+validate per record (`json.loads`, then Python checks) | {per_record:.3f} |",
    ]
    cli_seconds = statistics.median(s for s, _ in cli_runs)
    cli_peak = statistics.median(m for _, m in cli_runs)
    lines.append(f"| `matcher solve` in a fresh process (imports included) | {cli_seconds:.3f} |")
    lines += ["", f"Peak RSS of that fresh `matcher solve` process (the pipeline alone): {cli_peak:,.0f} MB."]
    return lines, result


if __name__ == "__main__":
    main()
