"""Deterministic JSON text for result documents: indented near the top, one record per line below.

``json.dumps(indent=2)`` falls back to the pure-Python encoder: 0.48 s for M's result, 10 MB
with every price and cost term on its own line. Here containers down to ``depth`` are laid out
by hand and everything deeper goes through the C encoder, one call per record: 0.22 s and 7.4 MB,
one assignment (or price table) per line, so results diff and grep line by line.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Rows", "dumps"]

_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


class Rows(list[str]):
    """A list whose records are already JSON text, each as this module's compact encoder writes it.

    Written one per line where a list of records would be; for long lists whose text is cheaper
    to render from columns than through a dict per record (:mod:`matcher.result_rows`).
    """


def dumps(doc: Any, depth: int = 2) -> str:
    """``doc`` as UTF-8-ready JSON text ending in a newline; containers above ``depth`` expanded.

    >>> print(dumps({"a": [{"b": 1}, {"b": 2}], "c": {}}), end="")
    {
      "a": [
        {"b": 1},
        {"b": 2}
      ],
      "c": {}
    }
    """
    parts: list[str] = []
    _write(doc, depth, "", parts)
    parts.append("\n")
    return "".join(parts)


def _write(value: Any, depth: int, pad: str, parts: list[str]) -> None:
    if isinstance(value, Rows):
        parts.append(_one_per_line(value, pad) if value else "[]")
        return
    if depth <= 0 or not isinstance(value, dict | list) or not value:
        parts.append(_compact(value))
        return
    inner = pad + "  "
    if isinstance(value, dict):
        parts.append("{")
        for k, (key, item) in enumerate(value.items()):
            parts.append(("\n" if k == 0 else ",\n") + inner + _compact(str(key)) + ": ")
            _write(item, depth - 1, inner, parts)
        parts.append("\n" + pad + "}")
    elif depth == 1:
        # The common case, a list of records: one C-encoder call per record, joined at once.
        parts.append(_one_per_line(list(map(_compact, value)), pad))
    else:
        parts.append("[")
        for k, item in enumerate(value):
            parts.append(("\n" if k == 0 else ",\n") + inner)
            _write(item, depth - 1, inner, parts)
        parts.append("\n" + pad + "]")


def _one_per_line(texts: list[str], pad: str) -> str:
    inner = pad + "  "
    return "[\n" + inner + (",\n" + inner).join(texts) + "\n" + pad + "]"
