"""The production profile in bench/run.py (--production): throughput through nginx on this machine.

Starts `python -m chatbot production up --detach` (2 Rasa servers, 2 action servers, the
worker, nginx) on free ports, with its own var dir, a database of its own on the PostgreSQL
named by BENCH_POSTGRES_URL (default: this machine's 127.0.0.1:5432, user postgres; the
database `chatbot_bench` is made by `up` and dropped afterwards) and Redis
lock database BENCH_REDIS_DB (default 5) on 127.0.0.1:6379, then runs the same conversations
as for the other assistants through the front door, and stops it with `production down`.

Server CPU and memory are summed over the profile's processes (nginx included); PostgreSQL
and Redis run as shared services here and are not counted (their load shows in "other
processes' load"). nginx's per-client rate limit is raised for the run: every bench
conversation comes from 127.0.0.1, which a real deployment never sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from run import FULL_SCRIPT, ROOT, Bot, status_kb, tree_cpu_s, tree_rss_mb

from chatbot.runner import free_port

MB = 1024.0
KINDS = {"rasa": "Rasa server", "actions": "action server", "worker": "worker", "nginx": "nginx"}


class ProductionBot(Bot):
    """The production profile as one assistant: its processes come from state.json."""

    state_file: Path

    def _records(self) -> dict[str, dict]:
        return json.loads(self.state_file.read_text())["processes"]

    def pids(self) -> dict[str, int]:
        return {name: r["pid"] for name, r in self._records().items() if r.get("pid")}

    def cpu_s(self) -> float:
        return sum(tree_cpu_s(pid) for pid in self.pids().values())

    def memory(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for record in self._records().values():
            if record.get("pid"):
                label = KINDS.get(record["kind"], record["kind"])
                out[label] = round(out.get(label, 0.0) + tree_rss_mb(record["pid"]), 1)
        out["servers"] = round(out.get("Rasa server", 0.0) + out.get("action server", 0.0), 1)
        out["all processes"] = round(sum(v for k, v in out.items() if k != "servers"), 1)
        rasa = [r["pid"] for r in self._records().values() if r["kind"] == "rasa" and r.get("pid")]
        out["peak Rasa server (VmHWM)"] = round(max(status_kb(p, "VmHWM") for p in rasa) / MB, 1)
        return out

    def stop(self) -> None:
        _cli(self.env, "down", timeout=180)
        drop_database(self.env["DATABASE_URL"])


def drop_database(url: str) -> None:
    """The bench's database goes after each run, so runs never read each other's conversations."""
    import sqlalchemy as sa

    server, name = url.rsplit("/", 1)
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


def _cli(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatbot", "production", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def production_environment(run_dir: Path) -> dict[str, str]:
    var = run_dir / "production-var"
    var.mkdir(parents=True)
    database = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    database = f"{database.rstrip('/')}/chatbot_bench"
    # The Makefile's embedded defaults must not reach the profile.
    cleared = {"TRACKER_STORE_URL", "LOCK_STORE_TYPE", "ACTION_ENDPOINT_URL", "CORS_ORIGINS"}
    cleared |= {"PUBLIC_BASE_URL", "TELEGRAM_BOT_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in cleared}
    env.update(
        CHATBOT_VAR_DIR=str(var),
        DATABASE_URL=database,
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=os.environ.get("BENCH_REDIS_PORT", "6379"),
        REDIS_LOCK_DB=os.environ.get("BENCH_REDIS_DB", "5"),
        PUBLIC_HOST="127.0.0.1",
        PUBLIC_PORT=str(free_port()),
        RASA_PORTS=f"{free_port()},{free_port()}",
        ACTION_PORTS=f"{free_port()},{free_port()}",
        ACTION_PROXY_PORT=str(free_port()),
        CLIENT_RATE_PER_SECOND="100000",
        CLIENT_RATE_BURST="100000",
        SMTP_HOST="",
    )
    return env


def start_production(run_dir: Path) -> ProductionBot:
    env = production_environment(run_dir)
    started = time.perf_counter()
    result = _cli(env, "up", "--detach", timeout=600)
    ready = time.perf_counter() - started
    if result.returncode != 0:
        _cli(env, "down", timeout=180)
        drop_database(env["DATABASE_URL"])
        raise RuntimeError(f"production up failed:\n{result.stdout}\n{result.stderr}")
    bot = ProductionBot(
        "production",
        f"http://127.0.0.1:{env['PUBLIC_PORT']}",
        FULL_SCRIPT,
        {},
        ready_s=ready,
    )
    bot.env = env  # type: ignore[attr-defined]
    bot.state_file = Path(env["CHATBOT_VAR_DIR"]) / "production" / "state.json"
    return bot


def results_for(bot: ProductionBot, levels: dict[str, Any]) -> dict[str, Any]:
    return {"ready_s": round(bot.ready_s, 1), "levels": levels, "memory": bot.memory()}
