"""Exception tree.

Every error the library raises on purpose derives from :class:`MatcherError`. Input problems are
:class:`InputError` (also a :class:`ValueError`) and carry one :class:`InputIssue` per problem, each
naming the record kind, the record id (or its position when the id itself is unusable) and the field.
Messages never contain input values other than record ids and field names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CostRangeError",
    "InputError",
    "InputIssue",
    "MatcherError",
    "SolverError",
    "UnknownBackendError",
]


class MatcherError(Exception):
    """Base class of every error raised on purpose by matcher."""


@dataclass(frozen=True, slots=True)
class InputIssue:
    """One problem found in the input.

    Parameters
    ----------
    record:
        The kind of record: ``"volunteer"``, ``"activity"``, ``"policy"`` or ``"document"``.
    record_id:
        The record's id, or ``"#<position>"`` when the id is missing or itself invalid.
    field:
        Dotted path of the offending field inside the record (``"availability.0.end"``).
    message:
        What is wrong, phrased without echoing the value.
    code:
        A stable machine-readable code (``"duplicate_id"``, ``"extra_forbidden"`` …).
    row:
        For records read from a table (CSV, Parquet, a data frame), the record's row: the first
        record is row 1 and a header line is not counted. ``None`` otherwise.

    """

    record: str
    record_id: str
    field: str
    message: str
    code: str
    row: int | None = None

    def __str__(self) -> str:
        where = self.record if not self.record_id else f"{self.record} {self.record_id!r}"
        if self.row is not None:
            where += f" (row {self.row})"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, str | int]:
        """Return the issue as a JSON-ready mapping (``row`` only when known)."""
        out: dict[str, str | int] = {
            "record": self.record,
            "record_id": self.record_id,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }
        if self.row is not None:
            out["row"] = self.row
        return out


class InputError(MatcherError, ValueError):
    """The input violates the problem contract; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[InputIssue]) -> None:
        self.issues: tuple[InputIssue, ...] = tuple(issues)
        if not self.issues:
            raise ValueError("InputError needs at least one issue")
        head = str(self.issues[0])
        more = len(self.issues) - 1
        super().__init__(head if more == 0 else f"{head} (and {more} more)")

    @classmethod
    def single(cls, record: str, record_id: str, field: str, message: str, code: str) -> InputError:
        """Build an error holding exactly one issue."""
        return cls([InputIssue(record, record_id, field, message, code)])


class CostRangeError(InputError):
    """Costs or priorities are too large for exact integer arithmetic in the chosen backend."""


class SolverError(MatcherError, RuntimeError):
    """A backend failed or returned a status other than optimal."""


class UnknownBackendError(MatcherError, ValueError):
    """The requested backend name is not registered."""


def format_issues(issues: Sequence[InputIssue]) -> str:
    """Render issues one per line, as the CLI prints them."""
    return "\n".join(str(issue) for issue in issues)
