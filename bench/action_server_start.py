"""Benchmark: start-up time and memory of the action server, started two ways.

    .venv/bin/python bench/action_server_start.py [--rounds 2]

`rasa run actions` goes through Rasa's command line, which imports Rasa itself
(TensorFlow included) before handing over to rasa_sdk; `python -m rasa_sdk --actions
actions` (what chatbot/runner.py starts, through chatbot.json_logs) starts the same action
server without Rasa. Measured 2026-11-25, once the actions stopped importing spaCy and Rasa
themselves: 2.8 s and 138 MB against 1.6 s and 73 MB (before: 7-9 s and 590 MB either way).
Prints, per way, the time until GET /health answers and the resident memory (VmRSS)
then, alternating the two ways so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from chatbot.config import load_settings, rasa_environment
from chatbot.runner import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, QUIET_ENV, ROOT, loadavg, stop_process, tree_rss_mb, wait_http  # noqa: E402

WAYS = {
    "rasa run actions": [str(Path(sys.executable).parent / "rasa"), "run", "actions", "--actions", "actions"],
    "python -m rasa_sdk": [sys.executable, "-m", "rasa_sdk", "--actions", "actions"],
}


def start_once(command: list[str], var: Path) -> tuple[float, float]:
    settings = replace(load_settings(), var_dir=var, database_url=f"sqlite:///{var / 'chatbot.db'}")
    port = free_port()
    log = var / "action-server.log"
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            env={**rasa_environment(settings), **QUIET_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, log, timeout=180)
        ready = time.perf_counter() - started
        time.sleep(1)
        return ready, tree_rss_mb(proc.pid)
    finally:
        stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    BENCH.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, load average {loadavg()}")
    results: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory(dir=BENCH) as tmp:
        for n in range(args.rounds):
            for way, command in WAYS.items():
                var = Path(tmp) / f"{n}-{way.split()[-1]}"
                var.mkdir()
                results[way].append(start_once(command, var))
    for way, runs in results.items():
        ready = ", ".join(f"{r:.1f}" for r, _ in runs)
        rss = ", ".join(f"{m:.0f}" for _, m in runs)
        print(f"{way:<20} ready in {ready} s; RSS {rss} MB")
    print(f"load average {loadavg()}")


if __name__ == "__main__":
    main()
