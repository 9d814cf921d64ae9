"""The command line: outputs, exit codes, atomic writes, no tracebacks on bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import matcher
from matcher.atomic import write_atomic
from matcher.cli import main

START, END = "2026-12-07T09:00:00+08:00", "2026-12-07T11:00:00+08:00"

DOC: dict[str, Any] = {
    "volunteers": [
        {"id": "v1", "skills": {"急救": 3}, "location": {"lat": 30.0, "lon": 120.0}, "preferences": ["a1"]},
        {"id": "v2", "location": {"lat": 30.01, "lon": 120.0}},
        {"id": "v3"},
    ],
    "activities": [
        {
            "id": "a1",
            "start": START,
            "end": END,
            "capacity": 1,
            "location": {"lat": 30.0, "lon": 120.0},
            "requirements": [{"skill": "急救", "min_level": 2}],
        },
        {"id": "a2", "start": START, "end": END, "capacity": 2, "location": {"lat": 30.0, "lon": 120.0}},
    ],
}


@pytest.fixture
def problem(tmp_path: Path) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(DOC, ensure_ascii=False), encoding="utf-8")
    return path


def test_solve_writes_a_verified_document(problem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert main(["solve", str(problem), "-o", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [(a["volunteer_id"], a["activity_id"]) for a in doc["assignments"]] == [("v1", "a1"), ("v2", "a2")]
    assert doc["status"] == "optimal"
    assert set(doc["objective"]) == {"priority_filled", "total_cost"}
    assert "timings" not in doc
    assert capsys.readouterr().err == ""
    assert main(["verify", str(problem), str(out)]) == 0
    assert "optimal (LP-dual certificate checked)" in capsys.readouterr().out


def test_solve_csv(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.csv"
    assert main(["solve", str(problem), "-o", str(out), "--format", "csv", "-q"]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["volunteer_id"], r["activity_id"], r["cost"]) for r in rows] == [("v1", "a1", "3"), ("v2", "a2", "511")]
    assert list(rows[0]) == [
        "volunteer_id",
        "activity_id",
        "cost",
        "preference",
        "distance",
        "skill_surplus",
        "reliability",
        "rating",
        "recent_service",
        "distance_km",
        "preference_rank",
    ]


def test_timings_on_request(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main(["solve", str(problem), "-o", str(out), "-q", "--timings"]) == 0
    timings = json.loads(out.read_text(encoding="utf-8"))["timings"]
    assert {"candidates", "costs", "solve", "certify"} <= set(timings)


def test_candidates_csv_lists_every_eligible_pair(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "edges.csv"
    assert main(["candidates", str(problem), "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == ["volunteer_id,activity_id,cost", "v1,a1,3", "v1,a2,500", "v2,a2,511"]


def test_validate_and_schema(problem: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(problem)]) == 0
    assert "3 volunteers, 2 activities" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) == {"volunteers", "activities", "policy"}
    assert schema["additionalProperties"] is False


def test_bad_input_exits_2_names_the_record_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = json.loads(json.dumps(DOC))
    bad["volunteers"][1]["skills"] = {"急救": 9}
    bad["activities"][0]["capcity"] = 3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    out = tmp_path / "result.json"
    out.write_text("previous result", encoding="utf-8")
    assert main(["solve", str(path), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "matcher: invalid input: volunteer 'v2', field 'skills.急救': "
        "Input should be less than or equal to 5 [less_than_equal]",
        "matcher: invalid input: activity 'a1', field 'capcity': Extra inputs are not permitted [extra_forbidden]",
    ]
    assert out.read_text(encoding="utf-8") == "previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "result.json"]


def test_missing_file_and_non_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read file" in capsys.readouterr().err
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe{")
    assert main(["validate", str(path)]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err


def test_verify_rejects_a_tampered_result(problem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert main(["solve", str(problem), "-o", str(out), "-q"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    # Swap in a worse but feasible choice: v2 on a2 is kept, v1 moves to a2 and a1 is left empty.
    doc["assignments"][0]["activity_id"] = "a2"
    doc["assignments"][0]["cost"] = 503
    doc["assignments"][0]["cost_terms"] = {
        "preference": 500,
        "distance": 0,
        "skill_surplus": 3,
        "reliability": 0,
        "rating": 0,
        "recent_service": 0,
    }
    out.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["verify", str(problem), str(out)]) == 1
    err = capsys.readouterr().err
    assert "objective should be" in err
    assert "unfilled list" in err


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_console_entry_point_runs(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "matcher", "solve", str(problem), "-o", str(out), "--backend", "highs", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["backend"] == "highs"
    proc = subprocess.run([sys.executable, "-m", "matcher", "solve"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_result_document_matches_library_call(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main(["solve", str(problem), "-o", str(out), "-q"]) == 0
    direct = matcher.match_document(matcher.load_document(problem)).to_json()
    assert out.read_text(encoding="utf-8") == direct


def test_progress_appears_only_for_long_runs() -> None:
    import io

    from matcher.progress import StageTimer, StderrProgress

    quiet, loud = io.StringIO(), io.StringIO()
    for stream, delay in ((quiet, 60.0), (loud, 0.0)):
        progress = StderrProgress(delay=delay, stream=stream)
        timer = StageTimer(progress)
        with timer("candidates"):
            pass
        progress.finish()
    assert quiet.getvalue() == ""
    lines = loud.getvalue().splitlines()
    assert lines[0].startswith("matcher: candidates… (")
    assert lines[-1].startswith("matcher: done in ")


def test_unwritable_output_names_the_target(problem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing" / "result.json"
    assert main(["solve", str(problem), "-o", str(target), "-q"]) == 1
    assert capsys.readouterr().err == f"matcher: error: cannot write {target}: No such file or directory\n"


def test_explain_writes_the_library_explanations(problem: Path, tmp_path: Path) -> None:
    result = matcher.match(DOC["volunteers"], DOC["activities"])
    out = tmp_path / "why.json"
    assert main(["explain", str(problem), "--volunteer", "v3", "--activity", "a1", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc == {"volunteers": [result.explain_volunteer("v3", ["a1"]).to_dict()]}
    assert main(["explain", str(problem), "--activity", "a1", "--activity", "a2", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc == {"activities": [result.explain_activity(a).to_dict() for a in ("a1", "a2")]}


def test_explain_unknown_id_exits_2_and_writes_nothing(
    problem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "why.json"
    assert main(["explain", str(problem), "--volunteer", "nobody", "-o", str(out)]) == 2
    assert "field 'volunteer_id'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["explain", str(problem)]) == 2
