"""Tables in: CSV (UTF-8, UTF-8 with BOM, GB18030), Parquet, and pandas / polars / Arrow frames.

One row per volunteer or activity. Scalar fields are columns; a location is two columns
(``lat``, ``lon``); nested fields are text cells in a small syntax, the same in every format:

=============== =========================================== ==================================
column          cell syntax                                  example
=============== =========================================== ==================================
skills          ``name:level`` joined by ``;``              ``急救:3;驾驶:1``
availability    ``start/end`` ISO-8601 windows joined by    ``2026-12-07T08:00+08:00/``
                ``;``; an empty cell means always           ``2026-12-07T12:30+08:00``
                available, ``never`` means never
preferences     activity ids by rank joined by ``;``; ties  ``A1;A2|A3``
                share a rank joined by ``|``
requirements    ``skill`` or ``skill:min_level`` joined     ``急救:2;驾驶``
                by ``;``
history         ``date:outcome`` or ``date:attended:rating`` ``2026-10-01:attended:5;``
                joined by ``;``                             ``2026-10-08:no_show``
organizations,  organisation names joined by ``;``          ``红十字会;街道社工站``
members_only
roles           ``name:count[:min][=skill:level,...]``       ``社工:1:1=社会工作:2;志愿者:4``
                joined by ``;``
ratios          ``lead/per/of`` joined by ``;``             ``社工/4/志愿者``
=============== =========================================== ==================================

An empty cell (or a null / NaN in a frame) means the field is absent, so its default applies.
Rows become plain records of the JSON contract and go through :mod:`matcher.fastpath`, so every
format is validated by the same rules, and issues name the record id, the field and the row
(the first record is row 1; a header line is not counted).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from matcher.errors import InputError, InputIssue
from matcher.gcpause import gc_paused
from matcher.models import Policy
from matcher.problem import Problem

__all__ = [
    "ACTIVITY_COLUMNS",
    "NEVER",
    "VOLUNTEER_COLUMNS",
    "load_tables",
    "problem_from_tables",
    "read_csv",
    "read_table",
    "table_records",
]

Columns = dict[str, list[Any]]

#: The availability cell of a volunteer who is never available (an empty cell means always).
NEVER = "never"

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


class _CellError(Exception):
    """A cell breaks its syntax in a way no record could express (reported with its row)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value.strip() == "")
        or (isinstance(value, float) and math.isnan(value))
    )


def _integer(value: Any) -> Any:
    # Tables are typed by column: "3" in a CSV, 3.0 in a frame column with gaps, both mean 3.
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _INT.match(text) else value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return float(text) if _FLOAT.match(text) else value
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _items(cell: Any) -> list[str] | None:
    if not isinstance(cell, str):
        return None
    return [item.strip() for item in cell.split(";") if item.strip()]


def _skills(cell: Any) -> Any:
    items = _items(cell)
    if items is None:
        return cell
    out: dict[str, Any] = {}
    for item in items:
        name, _, level = item.rpartition(":") if ":" in item else (item, "", None)
        if name.strip() in out:
            raise _CellError("a skill is listed more than once", "duplicate_skill")
        out[name.strip()] = _integer(level) if level is not None else None
    return out


def _availability(cell: Any) -> Any:
    items = _items(cell)
    if items is None:
        return cell
    if items == [NEVER]:
        return []
    windows = []
    for item in items:
        start, slash, end = item.partition("/")
        windows.append({"start": start.strip(), "end": end.strip()} if slash else {"start": start.strip()})
    return windows


def _preferences(cell: Any) -> Any:
    items = _items(cell)
    if items is None:
        return cell
    return [item if "|" not in item else [part.strip() for part in item.split("|")] for item in items]


def _requirements(cell: Any) -> Any:
    items = _items(cell)
    if items is None:
        return cell
    out = []
    for item in items:
        if ":" in item:
            skill, _, level = item.rpartition(":")
            out.append({"skill": skill.strip(), "min_level": _integer(level)})
        else:
            out.append({"skill": item})
    return out


def _id_list(cell: Any) -> Any:
    items = _items(cell)
    return cell if items is None else items


def _history(cell: Any) -> Any:
    items = _items(cell)
    if items is None:
        return cell
    out = []
    for item in items:
        day, _, rest = item.partition(":")
        outcome, _, rating = rest.partition(":")
        service: dict[str, Any] = {"date": day.strip(), "outcome": outcome.strip()}
        if rating.strip():
            service["rating"] = _integer(rating)
        out.append(service)
    return out


def _roles(cell: Any) -> Any:
    """``name:count[:min][=skill:level,skill...]`` joined by ``;``."""
    items = _items(cell)
    if items is None:
        return cell
    out = []
    for item in items:
        head, _, reqs = item.partition("=")
        name, _, numbers = head.partition(":")
        count, _, least = numbers.partition(":")
        role: dict[str, Any] = {"name": name.strip(), "count": _integer(count)}
        if least.strip():
            role["min"] = _integer(least)
        if reqs.strip():
            role["requirements"] = _requirements(reqs.replace(",", ";"))
        out.append(role)
    return out


def _ratios(cell: Any) -> Any:
    """``lead/per/of`` joined by ``;``: one ``lead`` per ``per`` of ``of``."""
    items = _items(cell)
    if items is None:
        return cell
    out = []
    for item in items:
        parts = [part.strip() for part in item.split("/")]
        if len(parts) != 3:
            raise _CellError("a ratio is written lead/per/of", "bad_ratio")
        out.append({"lead": parts[0], "per": _integer(parts[1]), "of": parts[2]})
    return out


def _same(value: Any) -> Any:
    return value


_VOLUNTEER_CELLS: dict[str, Callable[[Any], Any]] = {
    "id": _same,
    "lat": _number,
    "lon": _number,
    "max_travel_km": _number,
    "max_activities": _integer,
    "skills": _skills,
    "availability": _availability,
    "preferences": _preferences,
    "history": _history,
    "signed_up_at": _instant,
    "organizations": _id_list,
    "max_hours": _number,
    "max_hours_per_day": _number,
}
_ACTIVITY_CELLS: dict[str, Callable[[Any], Any]] = {
    "id": _same,
    "title": _same,
    "organization": _same,
    "category": _same,
    "start": _instant,
    "end": _instant,
    "lat": _number,
    "lon": _number,
    "capacity": _integer,
    "priority": _integer,
    "requirements": _requirements,
    "members_only": _id_list,
    "min_volunteers": _integer,
    "roles": _roles,
    "ratios": _ratios,
}
#: The columns a volunteers table may have (only ``id`` is required).
VOLUNTEER_COLUMNS = tuple(_VOLUNTEER_CELLS)
#: The columns an activities table may have (``id``, ``start``, ``end``, ``capacity`` are required).
ACTIVITY_COLUMNS = tuple(_ACTIVITY_CELLS)


def _records(columns: Columns, cells: Mapping[str, Callable[[Any], Any]], record: str) -> list[dict[str, Any]]:
    unknown = sorted(set(columns) - set(cells))
    if unknown:
        raise InputError(
            InputIssue(record, "", name, f"unknown column (known: {', '.join(cells)})", "unknown_column")
            for name in unknown
        )
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise InputError.single(record, "", "", "columns have different lengths", "ragged_table")
    n_rows = lengths.pop() if lengths else 0
    present = [(name, cells[name], columns[name]) for name in cells if name in columns]
    rows: list[dict[str, Any]] = [{} for _ in range(n_rows)]
    issues: list[InputIssue] = []
    for name, convert, values in present:
        for number, (row, value) in enumerate(zip(rows, values, strict=True), start=1):
            if _missing(value):
                continue
            try:
                row[name] = convert(value)
            except _CellError as exc:
                rid = row.get("id")
                shown = rid if isinstance(rid, str) and rid else f"#{number - 1}"
                issues.append(InputIssue(record, shown, name, exc.message, exc.code, row=number))
    if issues:
        raise InputError(issues)
    for row in rows:
        if "lat" in row or "lon" in row:
            row["location"] = {"lat": row.pop("lat", None), "lon": row.pop("lon", None)}
    return rows


def _frame_columns(frame: Any) -> Columns:
    """Column name -> Python values (None for nulls) of a pandas, polars or Arrow table, or a mapping."""
    if isinstance(frame, Mapping):
        return {str(k): list(v) for k, v in frame.items()}
    if hasattr(frame, "to_pydict"):  # pyarrow.Table / RecordBatch
        return {str(k): v for k, v in frame.to_pydict().items()}
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        return {str(k): v for k, v in frame.to_dict(as_series=False).items()}
    if module == "pandas":
        cleaned = frame.astype(object).where(frame.notna(), None)
        return {str(k): v for k, v in cleaned.to_dict(orient="list").items()}
    raise TypeError(f"expected a pandas, polars or Arrow table, or a mapping of columns; got {type(frame).__name__}")


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode("utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise InputError.single(
            "document", "", "", f"{name} is not valid {encoding} (bad byte at offset {exc.start})", "bad_encoding"
        ) from None
    except LookupError:
        raise InputError.single("document", "", "", f"unknown encoding {encoding!r}", "bad_encoding") from None


def read_csv(data: bytes, *, encoding: str = "utf-8", name: str = "the file") -> Columns:
    r"""Columns of a CSV file with a header line; a UTF-8 byte-order mark is skipped.

    >>> read_csv("id,skills\nv1,急救:3\n".encode("gb18030"), encoding="gb18030")
    {'id': ['v1'], 'skills': ['急救:3']}
    """
    reader = csv.reader(io.StringIO(_decode(data, encoding, name), newline=""))
    header = next(reader, None)
    if header is None:
        return {}
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        raise InputError.single("document", "", "", f"{name} repeats a column name", "duplicate_column")
    columns: Columns = {h: [] for h in names}
    for line, row in enumerate(reader, start=1):
        if not row:
            continue
        if len(row) != len(names):
            raise InputError.single(
                "document", "", "", f"{name}: record {line} has {len(row)} cells, the header {len(names)}", "ragged_row"
            )
        for h, value in zip(names, row, strict=True):
            columns[h].append(value)
    return columns


def read_table(path: str | Path, *, encoding: str = "utf-8") -> Columns:
    """Columns of a ``.csv`` or ``.parquet`` file (Parquet needs the ``pyarrow`` package)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError.single(
                "document", "", "", "reading Parquet needs pyarrow: pip install 'matcher[parquet]'", "missing_pyarrow"
            ) from None
        try:
            return _frame_columns(pq.read_table(path))
        except OSError as exc:
            raise InputError.single("document", "", "", f"cannot read {path.name}: {exc}", "unreadable") from None
    if suffix != ".csv":
        raise InputError.single("document", "", "", f"{path.name}: expected a .csv or .parquet file", "unknown_format")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single("document", "", "", f"cannot read {path.name}: {exc.strerror}", "unreadable") from None
    return read_csv(data, encoding=encoding, name=path.name)


@gc_paused()
def problem_from_tables(volunteers: Any, activities: Any, policy: Policy | Mapping[str, Any] | None = None) -> Problem:
    """Validate and compile a volunteers table and an activities table (see the module docs).

    Tables are pandas, polars or Arrow tables, or mappings of column name to values.

    >>> p = problem_from_tables(
    ...     {"id": ["v1"], "skills": ["急救:3"], "lat": [30.27], "lon": [120.15]},
    ...     {"id": ["a1"], "start": ["2026-12-07T09:00+08:00"], "end": ["2026-12-07T11:00+08:00"],
    ...      "capacity": ["2"], "requirements": ["急救:2"]},
    ... )
    >>> p.volunteer_ids, p.activity_ids, p.act_capacity.tolist()
    (('v1',), ('a1',), [2])
    """
    from matcher.fastpath import compile_records
    from matcher.records import coerce_policy

    vol_rows, act_rows = table_records(volunteers, activities)
    return compile_records(vol_rows, act_rows, coerce_policy(policy), row_base=1)


def table_records(volunteers: Any, activities: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of a volunteers and an activities table as JSON-contract records (not yet validated)."""
    vol_rows = _records(_frame_columns(volunteers), _VOLUNTEER_CELLS, "volunteer")
    act_rows = _records(_frame_columns(activities), _ACTIVITY_CELLS, "activity")
    return vol_rows, act_rows


def load_tables(
    volunteers: str | Path,
    activities: str | Path,
    policy: Policy | Mapping[str, Any] | None = None,
    *,
    encoding: str = "utf-8",
) -> Problem:
    """Read, validate and compile two table files (``.csv`` or ``.parquet``)."""
    return problem_from_tables(
        read_table(volunteers, encoding=encoding), read_table(activities, encoding=encoding), policy
    )
