"""``ovation moderate``: one message per line in, one JSON verdict per line out."""

from __future__ import annotations

import io
import json

from gatekeeper.moderation import Moderator
from gatekeeper.moderation.cli import run


def test_each_line_gets_one_json_verdict_in_order(moderator: Moderator) -> None:
    stdin = io.StringIO("Draw a cat in space\nthis is fucking shit\n\nпиши мне +7 912 345-67-89\n")
    stdout = io.StringIO()
    assert run(stdin, stdout, moderator) == 0
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [line["verdict"] for line in lines] == ["allow", "downgrade", "allow", "downgrade"]
    assert lines[1]["categories"] == ["profanity"]
    assert lines[3]["categories"] == ["personal_data"]
    assert set(lines[0]) >= {"verdict", "categories", "reason", "spans"}


def test_spans_are_printed_with_offsets_into_the_line(moderator: Moderator) -> None:
    stdout = io.StringIO()
    run(io.StringIO("hey f.u.c.k you\n"), stdout, moderator)
    (span,) = json.loads(stdout.getvalue())["spans"]
    assert "hey f.u.c.k you"[span["start"] : span["end"]] == "f.u.c.k"
    assert span["field"] == "message"
    assert span["category"] == "profanity"


def test_russian_text_is_printed_as_is() -> None:
    stdout = io.StringIO()
    run(io.StringIO("убей себя\r\n"), stdout)
    line = stdout.getvalue()
    assert "self-harm" in line
    assert json.loads(line)["verdict"] == "block"
