"""``ovation tail`` against a NATS that is not there: it says so and exits, instead of waiting forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ovation_cli.embedded import free_port


def test_tail_without_nats_says_what_to_do_and_exits(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OVATION_NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "OVATION_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from ovation_cli.main import main; main()", "tail", "events.>"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot reach NATS" in done.stderr
    assert "ovation up" in done.stderr
