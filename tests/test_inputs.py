"""Every input path gives the same problem and the same issues: models, fast JSON, CSV, Parquet, frames."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.cli import main
from matcher.errors import InputError
from matcher.problem import Problem
from matcher.rules import MenuRules
from tests.strategies import problems

VOL_COLUMNS = [
    "id",
    "lat",
    "lon",
    "max_travel_km",
    "max_activities",
    "skills",
    "availability",
    "preferences",
    "history",
    "organizations",
]
ACT_COLUMNS = ["id", "start", "end", "lat", "lon", "capacity", "priority", "requirements", "members_only"]


def via_models(doc: dict[str, Any]) -> Problem:
    parsed = matcher.parse_document(json.dumps(doc, ensure_ascii=False).encode())
    return matcher.compile_problem(parsed.volunteers, parsed.activities, parsed.policy)


def assert_same_problem(a: Any, b: Any) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, MenuRules):
            assert_same_problem(x, y)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, field.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), field.name
        else:
            assert x == y, field.name


def volunteer_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for v in doc["volunteers"]:
        prefs = v.get("preferences") or []
        rows.append(
            {
                "id": v["id"],
                "lat": v["location"]["lat"] if "location" in v else "",
                "lon": v["location"]["lon"] if "location" in v else "",
                "max_travel_km": v.get("max_travel_km", ""),
                "max_activities": v.get("max_activities", ""),
                "skills": ";".join(f"{k}:{lv}" for k, lv in v.get("skills", {}).items()),
                "availability": availability_cell(v.get("availability")),
                "preferences": ";".join(g if isinstance(g, str) else "|".join(g) for g in prefs),
                "history": history_cell(v.get("history")),
                "organizations": ";".join(v.get("organizations") or []),
            }
        )
    return rows


def history_cell(services: list[dict[str, Any]] | None) -> str:
    parts = []
    for x in services or []:
        rating = f":{x['rating']}" if x.get("rating") is not None else ""
        parts.append(f"{x['date']}:{x['outcome']}{rating}")
    return ";".join(parts)


def availability_cell(windows: list[dict[str, str]] | None) -> str:
    if windows is None:
        return ""
    return ";".join(f"{w['start']}/{w['end']}" for w in windows) or matcher.tables.NEVER


def activity_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": a["id"],
            "start": a["start"],
            "end": a["end"],
            "lat": a["location"]["lat"] if "location" in a else "",
            "lon": a["location"]["lon"] if "location" in a else "",
            "capacity": a["capacity"],
            "priority": a.get("priority", ""),
            "requirements": ";".join(f"{r['skill']}:{r.get('min_level', 1)}" for r in a.get("requirements", [])),
            "members_only": ";".join(a.get("members_only") or []),
        }
        for a in doc["activities"]
    ]


def csv_bytes(rows: list[dict[str, Any]], columns: list[str], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def columns_of(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, list[Any]]:
    # Frames carry missing cells as None, like a database export would.
    return {c: [None if r[c] == "" else r[c] for r in rows] for c in columns}


@settings(max_examples=300)
@given(problems())
def test_fast_json_path_gives_the_models_problem(doc: dict[str, Any]) -> None:
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert_same_problem(matcher.parse_problem(data), via_models(doc))


# Values that are wrong, or right but unusual, for some field: each path must judge them alike.
ODD_VALUES = [
    None, "", "x", 0, -1, 1, 3, 6, 1.5, 2.0, True, 1e9, [], {}, ["a1"], {"lat": 1}, "2026-12-07T09:00",
    "2026-12-07T09:00:00Z", "2026-12-07 09:00+08:00", "2026-12-07T09:00:00.1234567+08:00", "20261207T0900+0800",
    "2026-12-07T24:00+08:00", "2026-12-07T09:00+24:00", "2026-W50-1T09:00+08:00", [["a1"], "a1"], [[]],
    {"start": "2026-12-07T09:00+08:00"}, [{"skill": "急救", "min_level": 9}], [{"skill": "急救"}, {"skill": "急救"}],
]  # fmt: skip


def judged(doc: dict[str, Any]) -> Problem | list[tuple[str, str, str, str, str]]:
    """The outcome through the models, checked equal to the outcome through the fast path."""
    data = json.dumps(doc, ensure_ascii=False).encode()
    outcomes: list[Any] = []
    for compile_ in (lambda: via_models(doc), lambda: matcher.parse_problem(data)):
        try:
            outcomes.append(compile_())
        except InputError as exc:
            outcomes.append([(i.record, i.record_id, i.field, i.code, i.message) for i in exc.issues])
    models, fast = outcomes
    if isinstance(models, Problem):
        assert isinstance(fast, Problem), fast
        assert_same_problem(fast, models)
    else:
        assert fast == models
    return models


def set_path(record: dict[str, Any], field: str, value: Any) -> None:
    *path, last = field.split(".")
    target: Any = record
    for part in path:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


FULL_VOLUNTEER = {
    "id": "v1",
    "skills": {"急救": 2},
    "availability": [{"start": "2026-12-07T08:00+08:00", "end": "2026-12-07T12:00+08:00"}],
    "location": {"lat": 30.27, "lon": 120.15},
    "max_travel_km": 5.0,
    "max_activities": 2,
    "preferences": ["a1", ["a2"]],
}
FULL_ACTIVITY = {
    "id": "a1",
    "title": "助老",
    "organization": "社区",
    "category": "养老",
    "start": "2026-12-07T09:00+08:00",
    "end": "2026-12-07T11:00+08:00",
    "location": {"lat": 30.27, "lon": 120.16},
    "requirements": [{"skill": "急救", "min_level": 1}],
    "capacity": 2,
    "priority": 1,
}
VOLUNTEER_PATHS = [*FULL_VOLUNTEER, "skills.急救", "availability.0", "availability.0.start", "availability.0.end",
                   "location.lat", "location.lon", "preferences.0", "preferences.1", "phone"]  # fmt: skip
ACTIVITY_PATHS = [*FULL_ACTIVITY, "requirements.0", "requirements.0.skill", "requirements.0.min_level",
                  "location.lat", "location.lon", "capcity"]  # fmt: skip


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_fast_path_and_models_judge_every_odd_value_alike(value: Any) -> None:
    second = {**FULL_ACTIVITY, "id": "a2"}
    for kind, paths in (("volunteers", VOLUNTEER_PATHS), ("activities", ACTIVITY_PATHS)):
        for field in paths:
            doc = {"volunteers": [copy.deepcopy(FULL_VOLUNTEER)], "activities": [copy.deepcopy(FULL_ACTIVITY), second]}
            set_path(doc[kind][0], field, value)
            judged(doc)
    # The unchanged document is valid, so the cases above test judgement, not a broken base.
    assert isinstance(judged({"volunteers": [FULL_VOLUNTEER], "activities": [FULL_ACTIVITY, second]}), Problem)


@settings(max_examples=300)
@given(problems(), st.data())
def test_fast_path_and_models_judge_odd_values_alike(doc: dict[str, Any], data: st.DataObject) -> None:
    bad = copy.deepcopy(doc)
    records = data.draw(st.sampled_from(["volunteers", "activities"]))
    record = data.draw(st.sampled_from(bad[records]))
    fields = list(matcher.Volunteer.model_fields if records == "volunteers" else matcher.Activity.model_fields)
    set_path(record, data.draw(st.sampled_from(fields)), data.draw(st.sampled_from(ODD_VALUES)))
    judged(bad)


@settings(max_examples=200)
@given(problems())
def test_every_table_format_gives_the_same_problem(doc: dict[str, Any]) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    expected = via_models(doc)
    vols, acts = volunteer_rows(doc), activity_rows(doc)
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        got = matcher.problem_from_tables(
            matcher.tables.read_csv(csv_bytes(vols, VOL_COLUMNS, encoding), encoding=encoding.replace("-sig", "")),
            matcher.tables.read_csv(csv_bytes(acts, ACT_COLUMNS, encoding), encoding=encoding.replace("-sig", "")),
            doc["policy"],
        )
        assert_same_problem(got, expected)
    vcols, acols = columns_of(vols, VOL_COLUMNS), columns_of(acts, ACT_COLUMNS)
    frames = [
        (vcols, acols),
        (pd.DataFrame(vcols), pd.DataFrame(acols)),
        (pl.DataFrame(vcols, strict=False), pl.DataFrame(acols, strict=False)),
        (pa.table(vcols), pa.table(acols)),
    ]
    for fv, fa in frames:
        assert_same_problem(Problem.from_frames(fv, fa, doc["policy"]), expected)


def write_pool(tmp_path: Path, doc: dict[str, Any], encoding: str = "utf-8") -> tuple[Path, Path, Path]:
    vol_csv, act_csv, policy = tmp_path / "volunteers.csv", tmp_path / "activities.csv", tmp_path / "policy.json"
    vol_csv.write_bytes(csv_bytes(volunteer_rows(doc), VOL_COLUMNS, encoding))
    act_csv.write_bytes(csv_bytes(activity_rows(doc), ACT_COLUMNS, encoding))
    policy.write_text(json.dumps(doc["policy"]), encoding="utf-8")
    return vol_csv, act_csv, policy


EXAMPLE = json.loads((Path(__file__).parents[1] / "examples" / "community_week.json").read_text(encoding="utf-8"))


def test_cli_gives_byte_identical_results_from_json_csv_and_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    doc = EXAMPLE
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    vol_csv, act_csv, policy = write_pool(tmp_path, doc)
    gb_dir = tmp_path / "gb"
    gb_dir.mkdir()
    gb_vol, gb_act, _ = write_pool(gb_dir, doc, "gb18030")
    vol_pq, act_pq = tmp_path / "volunteers.parquet", tmp_path / "activities.parquet"
    pq.write_table(pa.table(columns_of(volunteer_rows(doc), VOL_COLUMNS)), vol_pq)
    pq.write_table(pa.table(columns_of(activity_rows(doc), ACT_COLUMNS)), act_pq)
    runs = {
        "json": [str(problem)],
        "csv": [str(vol_csv), str(act_csv), "--policy", str(policy)],
        "gb18030": [str(gb_vol), str(gb_act), "--policy", str(policy), "--encoding", "gb18030"],
        "parquet": [str(vol_pq), str(act_pq), "--policy", str(policy)],
    }
    outputs = {}
    for name, args in runs.items():
        out = tmp_path / f"{name}.json"
        assert main(["solve", *args, "-o", str(out), "--quiet"]) == 0
        outputs[name] = out.read_bytes()
    assert len(set(outputs.values())) == 1


def test_bad_rows_are_named_by_row_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = copy.deepcopy(EXAMPLE)
    vol_csv, act_csv, policy = write_pool(tmp_path, doc)
    rows = activity_rows(doc)
    rows[2]["capacity"] = "three"
    rows[4]["end"] = rows[4]["start"]
    act_csv.write_bytes(csv_bytes(rows, ACT_COLUMNS))
    out = tmp_path / "result.json"
    assert main(["solve", str(vol_csv), str(act_csv), "--policy", str(policy), "-o", str(out), "--quiet"]) == 2
    assert not out.exists()
    assert not list(tmp_path.glob("*.tmp*"))
    err = capsys.readouterr().err
    assert f"activity {rows[2]['id']!r} (row 3), field 'capacity'" in err
    assert f"activity {rows[4]['id']!r} (row 5), field 'end'" in err
    with pytest.raises(InputError) as info:
        matcher.load_tables(vol_csv, act_csv)
    assert [(i.record_id, i.field, i.row) for i in info.value.issues] == [
        (rows[2]["id"], "capacity", 3),
        (rows[4]["id"], "end", 5),
    ]


@pytest.mark.parametrize(
    ("volunteers", "code", "where", "row"),
    [
        pytest.param("id,phone\nv1,13800138000\n", "unknown_column", "phone", None, id="unknown-column"),
        pytest.param("id,skills\nv0,\nv1,急救:3;急救:2\n", "duplicate_skill", "skills", 2, id="skill-twice"),
        pytest.param("id,skills\nv1,急救:9\n", "less_than_equal", "skills.急救", 1, id="level-range"),
        pytest.param("id,lat\nv1,30.2\n", "float_type", "location.lon", 1, id="lat-without-lon"),
        pytest.param(
            "id,availability\nv1,2026-12-07T09:00+08:00\n", "missing", "availability.0.end", 1, id="open-window"
        ),
        pytest.param("id,max_activities\nv1,2.5\n", "int_type", "max_activities", 1, id="fractional-count"),
    ],
)
def test_table_cell_errors(volunteers: str, code: str, where: str, row: int | None) -> None:
    with pytest.raises(InputError) as info:
        matcher.problem_from_tables(matcher.tables.read_csv(volunteers.encode()), {"id": []})
    issue = info.value.issues[0]
    assert (issue.record, issue.field, issue.code, issue.row) == ("volunteer", where, code, row)
    assert "13800138000" not in str(info.value)


def test_encoding_errors_are_input_errors() -> None:
    with pytest.raises(InputError, match="not valid utf-8") as info:
        matcher.tables.read_csv("id\n志愿者\n".encode("gb18030"))
    assert info.value.issues[0].code == "bad_encoding"
    with pytest.raises(InputError, match="unknown encoding"):
        matcher.tables.read_csv(b"id\n", encoding="klingon")
    with pytest.raises(InputError, match="record 1 has 2 cells"):
        matcher.tables.read_csv(b"id\nv1,v2\n")


def test_reading_pauses_the_collector_and_restores_it_even_on_error() -> None:
    import gc

    from matcher.gcpause import gc_paused

    seen: list[bool] = []

    @gc_paused()
    def inner() -> None:
        seen.append(gc.isenabled())

    assert gc.isenabled()
    inner()
    inner()  # the decorator makes a fresh context for each call
    assert seen == [False, False]
    assert gc.isenabled()
    with pytest.raises(matcher.InputError):
        matcher.parse_problem(b'{"volunteers": [{"id": 1}], "activities": []}')
    assert gc.isenabled()
    gc.disable()
    try:
        inner()
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
