"""The README's promises: its quickstart runs, and it keeps exactly the two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_quickstart_runs_and_verifies() -> None:
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", README, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README quickstart", "exec"), namespace)
    result = namespace["result"]
    assert [(a.volunteer_id, a.activity_id) for a in result.assignments] == [("V001", "A01")]  # type: ignore[attr-defined]


def test_setup_section_has_exactly_two_commands() -> None:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", setup, re.S)
    assert commands == [
        "python -m pip install . && python examples/community_week.py",
        "python -m pip install -e '.[test]' && python -m pytest",
    ]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install -e '.[test]' && python -m pytest\n" in ci
