"""``ovation moderate``: check text line by line from the command line, with no bus and no service running.

Each input line is one message; each output line is one JSON verdict, in the same order, flushed as it is written
so the command works in a pipe and interactively:

    {"verdict": "downgrade", "categories": ["profanity"], "reason": "...", "spans": [...],
     "uncertain": false, "failed_closed": false}
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from ovation_contracts import Verdict

from .engine import Moderator


def verdict_line(verdict: Verdict) -> dict[str, Any]:
    """The JSON object ``run`` prints for one verdict."""
    return {
        "verdict": verdict.decision.value,
        "categories": [category.value for category in verdict.categories],
        "reason": verdict.reason,
        "spans": [span.model_dump(mode="json") for span in verdict.spans],
        "uncertain": verdict.uncertain,
        "failed_closed": verdict.failed_closed,
    }


def run(stdin: TextIO, stdout: TextIO, moderator: Moderator | None = None) -> int:
    """Read one message per line from ``stdin`` and write one JSON verdict per line to ``stdout``.

    Blank lines get a verdict too, so output line N always answers input line N. Returns the exit code: 0.
    """
    moderator = moderator if moderator is not None else Moderator()
    for line in stdin:
        verdict = moderator.check(line.rstrip("\r\n"))
        stdout.write(json.dumps(verdict_line(verdict), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
