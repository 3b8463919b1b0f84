"""``hookline worker`` rejects what it cannot run with one clear line."""

from __future__ import annotations

import subprocess
import sys


def test_unknown_worker_is_one_clear_line(tmp_path):
    """An unknown worker name exits non-zero naming it, without a traceback."""
    config = tmp_path / "hookline.yaml"
    config.write_text("kafka: {bootstrap_servers: 127.0.0.1:1}\n")
    result = subprocess.run(
        [sys.executable, "-m", "hookline", "--config", str(config), "worker", "no-such-worker"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("hookline: unknown worker 'no-such-worker'")
    )
    assert "Traceback" not in result.stderr
