"""Simulator kit overhead against the same handlers on bare Starlette, measured in the same run.

    python bench/sandbox.py [--duration 8] [--connections 32]

Serves bench/sandbox_apps.py's ``bare`` and ``kit`` apps under uvicorn (pinned
to one CPU) and loads each with wrk from the other CPU: a GET (counting and
fault matching, ten non-matching faults active) and a POST with a fresh
``Idempotency-Key`` each time (body buffering, credential, key store).
Bare and kit alternate ``--rounds`` times (other load on a shared machine
skews a single run); the best round of each counts. Prints requests/s and
p99 per case and the ratio kit/bare.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from hookline.bus.broker import free_port  # noqa: E402
from ingress import cpus, serve, stop, to_ms  # noqa: E402

GET = 'wrk.method = "GET"\n'
POST = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/widgets", {["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "k-" .. counter, ["Authorization"] = "Bearer bench"}, '{"colour": "blue"}')
end
"""


def run_wrk(
    url: str, script: Path, duration: int, connections: int, pin: list[str]
) -> dict[str, float]:
    warm = [*pin, "wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(script), url]
    subprocess.run(warm, capture_output=True, check=True)
    cmd = [
        *pin,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    # Anchored: a "+/- Stdev" column like "67.50%" must not pass for the 50th percentile.
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p99": p99, "non2xx": float(bad.group(1)) if bad else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternate bare/kit this often; best round counts"
    )
    args = parser.parse_args()
    server_pin, load_pin = cpus()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT.parent / 'src'}"}
    results: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {
            "GET /v1/widgets/w_1": Path(tmp, "get.lua"),
            "POST /v1/widgets (new key)": Path(tmp, "post.lua"),
        }
        scripts["GET /v1/widgets/w_1"].write_text(GET)
        scripts["POST /v1/widgets (new key)"].write_text(POST)
        for name in ("bare", "kit") * args.rounds:
            port = free_port()
            cmd = [
                *server_pin,
                sys.executable,
                "-m",
                "uvicorn",
                f"sandbox_apps:{name}",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
            process = serve(cmd, port, env)
            try:
                for case, script in scripts.items():
                    path = "/v1/widgets/w_1" if case.startswith("GET") else "/v1/widgets"
                    url = f"http://127.0.0.1:{port}{path}"
                    result = run_wrk(url, script, args.duration, args.connections, load_pin)
                    best = results.get((name, case))
                    if best is None or result["rps"] > best["rps"]:
                        results[(name, case)] = result
            finally:
                stop(process)
    print(
        f"{'case':<30} {'bare rps':>10} {'kit rps':>10} {'ratio':>7} {'bare p99':>9} {'kit p99':>9}"
    )
    for case in scripts:
        bare, kit = results[("bare", case)], results[("kit", case)]
        print(
            f"{case:<30} {bare['rps']:>10.0f} {kit['rps']:>10.0f} {kit['rps'] / bare['rps']:>7.2f} "
            f"{bare['p99']:>7.1f}ms {kit['p99']:>7.1f}ms"
        )
        if kit["non2xx"] or bare["non2xx"]:
            print(f"  non-2xx answers: bare {bare['non2xx']:.0f}, kit {kit['non2xx']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
