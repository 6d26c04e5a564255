"""Commands that services add to `ovation` through the ovation.commands entry points."""

from __future__ import annotations

import json
import subprocess
import sys

OVATION = [sys.executable, "-c", "from ovation_cli.main import main; main()"]


def test_ovation_moderate_prints_one_verdict_per_line() -> None:
    lines = ["draw a cat in space", "f.u.c.k this stream", "звони мне +7 912 345-67-89", ""]
    result = subprocess.run(
        [*OVATION, "moderate"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(verdicts) == len(lines)
    assert [v["verdict"] for v in verdicts] == ["allow", "downgrade", "downgrade", "allow"]
    assert verdicts[1]["categories"] == ["profanity"]
    assert verdicts[2]["categories"] == ["personal_data"]
    assert all({"verdict", "categories", "reason"} <= set(v) for v in verdicts)


def test_ovation_help_lists_the_plugin_commands() -> None:
    result = subprocess.run([*OVATION, "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert "moderate" in result.stdout
