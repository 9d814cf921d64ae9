"""The examples run, and what they print holds: knobs never cost places, a re-match changes less."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_dispatch_loop_shows_each_knob_and_a_gentler_rematch() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "dispatch_loop.py")], check=True, capture_output=True, text=True
    ).stdout
    rows = re.findall(r"^(baseline|weights\.\w+ = \d+|target_fill_probability = [\d.]+)\s+(\d+)\s", out, re.M)
    assert len(rows) == 6
    assert len({filled for _, filled in rows}) == 1  # places filled come first, whatever the knob
    fewest = int(re.search(r"fewest changes first .* changes (\d+)", out).group(1))  # type: ignore[union-attr]
    scratch = int(re.search(r"from scratch .* changes (\d+)", out).group(1))  # type: ignore[union-attr]
    assert fewest < scratch
    assert "Why wasn't" in out
    assert "→" in out


def test_menu_rules_example_keeps_the_rules_it_adds() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "menu_rules.py")], check=True, capture_output=True, text=True
    ).stdout
    over = re.search(r"over their 5 h cap\s+(\d+)\s+(\d+)", out)
    assert over is not None
    assert int(over.group(1)) > 0  # ignoring the caps breaks them on this week
    assert int(over.group(2)) == 0
    assert "status: optimal" in out
    teams = re.findall(r"^  A\d+: (\d+) 志愿者, (\d+) 社工$", out, re.M)
    assert teams
    assert all(int(helpers) <= 4 * int(leads) for helpers, leads in teams)
    assert "verify: feasible=True, problems=0" in out
