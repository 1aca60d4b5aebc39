"""Benchmark: the full assistant against a bare `rasa init` assistant, in the same run.

    .venv/bin/python bench/run.py [--quick] [--skip-training] [--profile] [--production]

For both assistants: training time, time to ready (process start until the REST
channel answers), latency p50/p95/p99 per message and throughput at 1, 10 and 50
concurrent conversations over the REST channel, server CPU time per message, and
resident memory (VmRSS summed over each assistant's processes); then full/bare
ratios and a verdict against the targets. The two run side by side, and each
concurrency level runs the full assistant then the bare one, so both see the same
machine load; on a busy machine absolute figures are noisy and the ratios are what
count. The machine's load (and how many cores other processes used while each level
ran) is printed with the figures.

--profile adds where the full assistant's time goes: a variant runs side by side
with the others (Rasa's in-memory tracker store instead of SQLite), then NLU
parse alone (`POST /model/parse`), one conversation at a time through an
instrumented Rasa server and an action server that times itself
(bench/instrumented_rasa.py, bench/timed_action_server.py), and a cProfile of the
Rasa server. Product code is not changed: the variants are made in bench/.

--production then starts the production profile (2 Rasa and 2 action servers behind
nginx, PostgreSQL, Redis: bench/production_bench.py) and runs the same conversations at
10 and 50 concurrent through nginx, against the bare single process's throughput.

The full assistant runs from models/ (the model `make` trains), started by
chatbot.runner.start_servers on free ports with its own var dir. Training is
measured fresh (an empty Rasa cache) into a temporary directory. The bare assistant
is made with `rasa init --no-prompt --init-dir var/bench/bare`, which trains it.
Writes var/bench/results-<timestamp>.json; logs and profiles go to var/bench/run-<timestamp>/.
Timings on this 2-core machine: about 9 minutes; --profile about 5 more; --quick
--skip-training about 4.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from chatbot.config import load_settings, rasa_environment
from chatbot.runner import Servers, free_port, latest_model, start_servers

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "var" / "bench"
BARE_DIR = BENCH / "bare"
RASA = str(Path(sys.executable).parent / "rasa")
CLK = os.sysconf("SC_CLK_TCK")
MB = 1024.0

# A resident, one question at a time, to a recommendation (the last step is the Amwell button).
FULL_SCRIPT = [
    "hi",
    "myself",
    "off sick",
    "6 weeks",
    "yes",
    "stress",
    "Islington",
    "yes",
    '/inform{"gp_surgery_id":"amwell-group-practice"}',
]
# The starter bot's own greet / mood flow, three times: as many messages as the full script.
BARE_SCRIPT = ["hi", "great", "bye"] * 3
LEVELS = (1, 10, 50)
# Conversations per concurrency level (each has 9 messages).
CONVERSATIONS = {1: 10, 10: 20, 50: 50}
QUICK_CONVERSATIONS = {1: 2, 10: 10, 50: 50}
TARGET_P95_10_S = 0.300
TARGET_READY_S = 30.0
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


# --- the machine and the processes ---------------------------------------------------------------


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))):
            children[int(fields[1])].append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    return sum(status_kb(p, "VmRSS") for p in process_tree(pid)) / MB


def tree_cpu_s(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        if fields := _stat_fields(p):
            total += int(fields[11]) + int(fields[12])
    return total / CLK


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (every core)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK


class PeakRss:
    """Polls the resident memory of a process tree while it runs (for training)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, tree_rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} stopped (exit {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s; see {log}")


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- the two assistants ---------------------------------------------------------------------------


@dataclass
class Bot:
    name: str
    url: str
    script: list[str]
    processes: dict[str, subprocess.Popen]
    token: str = ""
    ready_s: float = 0.0
    servers: Servers | None = None  # the full assistant's processes (chatbot.runner)
    levels: tuple[int, ...] = LEVELS
    results: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        if self.servers is not None:
            self.servers.stop()
        else:
            for proc in self.processes.values():
                stop_process(proc)

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.processes.items()}

    def cpu_s(self) -> float:
        return sum(tree_cpu_s(pid) for pid in self.pids().values())

    def memory(self) -> dict[str, float]:
        """VmRSS per process tree, MB; 'servers' sums the Rasa and action servers."""
        out = {name: round(tree_rss_mb(pid), 1) for name, pid in self.pids().items()}
        out["servers"] = round(sum(v for k, v in out.items() if k != "worker"), 1)
        out["all processes"] = round(sum(v for k, v in out.items() if k != "servers"), 1)
        out["peak Rasa server (VmHWM)"] = round(status_kb(self.pids()["Rasa server"], "VmHWM") / MB, 1)
        return out

    def reached_goal(self, replies: list[list[dict[str, Any]]]) -> bool:
        if self.name.startswith("full"):
            return any("recommendations" in (m.get("custom") or {}) for step in replies for m in step)
        return all(any(m.get("text") for m in step) for step in replies)


def full_settings(var: Path):
    action_port = free_port()
    return replace(
        load_settings(),
        var_dir=var,
        database_url=f"sqlite:///{var / 'chatbot.db'}",
        tracker_store_url=f"sqlite:///{var / 'tracker.db'}",
        rasa_host="127.0.0.1",
        rasa_port=free_port(),
        action_port=action_port,
        action_endpoint_url=f"http://127.0.0.1:{action_port}/webhook",
        smtp_host="",
    )


def start_full(run_dir: Path, name: str, rasa_args: tuple[str, ...] = ()) -> Bot:
    var = run_dir / slug(name)
    var.mkdir(parents=True)
    settings = full_settings(var)
    started = time.perf_counter()
    servers = start_servers(settings, log_dir=var / "logs", timeout=300, rasa_args=rasa_args)
    ready = time.perf_counter() - started
    return Bot(name, servers.rasa_url, FULL_SCRIPT, servers.processes, servers.token, ready, servers)


def start_bare(run_dir: Path) -> Bot:
    port = free_port()
    log_path = run_dir / "bare-rasa.log"
    env = {**os.environ, **QUIET_ENV}
    started = time.perf_counter()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                RASA,
                "run",
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
                "--model",
                "models",
            ],
            cwd=BARE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/webhooks/rest/", proc, log_path)
    except BaseException:
        stop_process(proc)
        raise
    return Bot("bare", url, BARE_SCRIPT, {"Rasa server": proc}, ready_s=time.perf_counter() - started)


# --- training -------------------------------------------------------------------------------------


def timed_command(cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = PeakRss(proc.pid)
        code = proc.wait()
        peak_mb = peak.stop()
    seconds = time.perf_counter() - started
    if code != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed (exit {code}); {log_path}:\n" + "\n".join(tail))
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb), "log": str(log_path)}


def train_full(run_dir: Path) -> dict[str, Any]:
    out = run_dir / "train-full"
    env = {**rasa_environment(load_settings()), **QUIET_ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")}
    cmd = [RASA, "train", "--quiet", "--out", str(out), "--fixed-model-name", "bench"]
    result = timed_command(cmd, ROOT, env, run_dir / "train-full.log")
    shutil.rmtree(out, ignore_errors=True)
    return result


def make_bare(run_dir: Path) -> dict[str, Any]:
    """`rasa init --no-prompt` creates the starter project and trains it: timed as training."""
    shutil.rmtree(BARE_DIR, ignore_errors=True)
    BARE_DIR.mkdir(parents=True)  # with --no-prompt, rasa init wants the directory to exist
    env = {**os.environ, **QUIET_ENV, "RASA_CACHE_DIRECTORY": str(run_dir / "bare-cache")}
    cmd = [RASA, "init", "--no-prompt", "--init-dir", str(BARE_DIR)]
    result = timed_command(cmd, BENCH, env, run_dir / "train-bare.log")
    shutil.rmtree(run_dir / "bare-cache", ignore_errors=True)
    return result


# --- load -----------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """Letters, digits and dashes: what a sender id or a file name may hold."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _conversations(bot: Bot, concurrency: int, count: int, tag: str) -> dict[str, Any]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    latencies: list[float] = []
    per_step: dict[int, list[float]] = defaultdict(list)
    errors: list[str] = []
    reached = 0
    empty = 0
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal reached, empty
            while not queue.empty():
                n = queue.get_nowait()
                sender = f"bench-{slug(tag)}-{n}-{uuid.uuid4().hex[:8]}"
                replies = []
                for step, text in enumerate(bot.script):
                    started = time.perf_counter()
                    try:
                        r = await client.post(
                            f"{bot.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                        )
                        r.raise_for_status()
                        body = r.json()
                    except (httpx.HTTPError, ValueError) as e:
                        errors.append(f"{type(e).__name__}: {e}"[:200])
                        break
                    elapsed = time.perf_counter() - started
                    latencies.append(elapsed)
                    per_step[step].append(elapsed)
                    empty += not body
                    replies.append(body)
                else:
                    reached += bot.reached_goal(replies)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "latencies": latencies,
        "per_step": per_step,
        "errors": errors,
        "reached": reached,
        "empty_replies": empty,
    }


def run_level(bot: Bot, concurrency: int, count: int, tag: str) -> dict[str, Any]:
    cpu0, busy0, own0, load0 = bot.cpu_s(), machine_busy_s(), time.process_time(), loadavg()
    started = time.perf_counter()
    raw = asyncio.run(_conversations(bot, concurrency, count, tag))
    wall = time.perf_counter() - started
    server_cpu = bot.cpu_s() - cpu0
    client_cpu = time.process_time() - own0  # this bench's own load generator, on the same cores
    others = (machine_busy_s() - busy0) - server_cpu - client_cpu
    lat = raw["latencies"]
    n = len(lat)
    return {
        "concurrency": concurrency,
        "conversations": count,
        "messages": n,
        "errors": len(raw["errors"]),
        "first_error": raw["errors"][0] if raw["errors"] else None,
        "empty_replies": raw["empty_replies"],
        "conversations_reaching_goal": raw["reached"],
        "wall_s": round(wall, 2),
        "p50_ms": round(percentile(lat, 50) * 1000, 1),
        "p95_ms": round(percentile(lat, 95) * 1000, 1),
        "p99_ms": round(percentile(lat, 99) * 1000, 1),
        "mean_ms": round(sum(lat) / n * 1000, 1) if n else None,
        "throughput_msg_s": round(n / wall, 1) if wall else None,
        "server_cpu_ms_per_msg": round(server_cpu / n * 1000, 1) if n else None,
        "other_processes_cores": round(max(others, 0.0) / wall, 2) if wall else None,
        "client_cores": round(client_cpu / wall, 2) if wall else None,
        "loadavg_before": load0,
        "per_step_p50_ms": {
            f"{s + 1} {bot.script[s]}": round(percentile(v, 50) * 1000, 1)
            for s, v in sorted(raw["per_step"].items())
        },
    }


def warm_up(bot: Bot) -> float:
    """One conversation before measuring; returns the first reply's latency (lazy loading shows here)."""
    result = run_level(bot, 1, 1, f"{bot.name}-warmup")
    if result["errors"]:
        raise RuntimeError(f"{bot.name}: warm-up failed: {result['first_error']}")
    return next(iter(result["per_step_p50_ms"].values()))


def time_parse(bot: Bot, repeats: int) -> dict[str, Any]:
    """NLU alone: POST /model/parse for each message of the script, one at a time."""
    params = {"token": bot.token} if bot.token else {}
    per_text: dict[str, list[float]] = defaultdict(list)
    with httpx.Client(timeout=60) as client:
        for _ in range(repeats + 1):
            for text in bot.script:
                started = time.perf_counter()
                r = client.post(f"{bot.url}/model/parse", params=params, json={"text": text})
                r.raise_for_status()
                per_text[text].append(time.perf_counter() - started)
        floor = []
        for _ in range(repeats * 5):
            started = time.perf_counter()
            client.get(f"{bot.url}/webhooks/rest/").raise_for_status()
            floor.append(time.perf_counter() - started)
    per_text = {t: v[1:] for t, v in per_text.items()}  # the first round warms up
    everything = [x for v in per_text.values() for x in v]
    # Mean per message of the script: comparable with the mean REST latency at 1 conversation.
    mean_per_message = sum(sum(per_text[t]) / len(per_text[t]) for t in bot.script) / len(bot.script)
    return {
        "p50_ms": round(percentile(everything, 50) * 1000, 1),
        "mean_per_script_message_ms": round(mean_per_message * 1000, 1),
        "per_text_p50_ms": {t: round(percentile(v, 50) * 1000, 1) for t, v in per_text.items()},
        "http_floor_p50_ms": round(percentile(floor, 50) * 1000, 2),
    }


# --- profile of the full assistant -----------------------------------------------------------------


INMEMORY = "full, in-memory tracker store"
VARIANT_LEVELS = (1, 10)


@dataclass
class Instrumented:
    timers: Path
    profile: Path


def swap_process(servers: Servers, name: str, command: list[str], env: dict[str, str], health: str) -> None:
    """Stop one of the assistant's processes and start `command` in its place (same ports, same var)."""
    stop_process(servers.processes[name])
    servers.commands[name] = command
    servers.private_environment.setdefault(name, {}).update(env)
    servers.launch(name)
    log = servers.log_dir / (name.replace(" ", "_") + ".log") if servers.log_dir else Path("-")
    wait_http(health, servers.processes[name], log)


def instrument(bot: Bot, run_dir: Path, timed_actions: bool = False) -> Instrumented:
    """Restart the Rasa server as bench/instrumented_rasa.py (and the action server as
    bench/timed_action_server.py): same arguments, ports, model and databases."""
    servers = bot.servers
    assert servers is not None
    name = slug(bot.name)
    paths = Instrumented(run_dir / f"{name}-timers.json", run_dir / f"{name}.prof")
    if timed_actions:
        old = servers.commands["action server"]
        cmd = [sys.executable, str(ROOT / "bench" / "timed_action_server.py"), *old[old.index("--actions") :]]
        swap_process(servers, "action server", cmd, {}, f"{servers.action_url}/health")
    old = servers.commands["Rasa server"]
    cmd = [sys.executable, str(ROOT / "bench" / "instrumented_rasa.py"), *old[old.index("run") :]]
    env = {"BENCH_TIMERS_OUT": str(paths.timers), "BENCH_PROFILE_OUT": str(paths.profile)}
    swap_process(servers, "Rasa server", cmd, env, f"{servers.rasa_url}/webhooks/rest/")
    return paths


def _signal_and_wait(bot: Bot, signum: int, path: Path) -> None:
    """Signal the instrumented Rasa server and wait until it has (re)written path."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    bot.processes["Rasa server"].send_signal(signum)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            return
        try:  # a request wakes the event loop, so the signal handler runs promptly
            urllib.request.urlopen(f"{bot.url}/webhooks/rest/", timeout=2).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no {path.name} from the instrumented Rasa server")


def valid(level: dict[str, Any]) -> bool:
    return (
        level["errors"] == 0
        and level["empty_replies"] == 0
        and level["conversations_reaching_goal"] == level["conversations"]
    )


def timers_window(
    bot: Bot, paths: Instrumented, conversations: int, action_url: str | None
) -> dict[str, Any]:
    """One conversation at a time through the instrumented servers: where each message's time goes."""
    _signal_and_wait(bot, signal.SIGUSR2, paths.timers)  # resets the timers
    if action_url:
        httpx.get(f"{action_url}/bench/timings").raise_for_status()  # resets them
    level = run_level(bot, 1, conversations, "timers")
    _signal_and_wait(bot, signal.SIGUSR2, paths.timers)
    timers = json.loads(paths.timers.read_text())
    n = level["messages"]
    out: dict[str, Any] = {
        "messages": n,
        "valid": valid(level),
        "rest_latency": {k: level[k] for k in ("p50_ms", "p95_ms", "mean_ms", "server_cpu_ms_per_msg")},
        "per_step_p50_ms": level["per_step_p50_ms"],
        "rasa_server_timers": {
            label: {"calls_per_msg": round(calls / n, 2), "ms_per_msg": round(secs / n * 1000, 2)}
            for label, (calls, secs) in sorted(timers.items(), key=lambda kv: -kv[1][1])
        },
    }
    if action_url:
        records = httpx.get(f"{action_url}/bench/timings").json()
        by_action: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for kind, action, secs in records:
            by_action[action][kind].append(secs)
        out["action_server"] = {
            "whole_requests_ms_per_msg": round(
                sum(r[2] for r in records if r[0] == "whole request") / n * 1000, 2
            ),
            "action_code_ms_per_msg": round(
                sum(r[2] for r in records if r[0] == "action code") / n * 1000, 2
            ),
            "per_action": {
                action: {
                    "calls_per_msg": round(len(kinds.get("action code", [])) / n, 2),
                    "whole_request_mean_ms": round(_mean(kinds.get("whole request", [])) * 1000, 2),
                    "action_code_mean_ms": round(_mean(kinds.get("action code", [])) * 1000, 2),
                }
                for action, kinds in by_action.items()
            },
        }
    return out


def cprofile_window(bot: Bot, paths: Instrumented, conversations: int) -> dict[str, Any]:
    """cProfile of the Rasa server's main thread over a few conversations (profiling slows it)."""
    bot.processes["Rasa server"].send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    urllib.request.urlopen(f"{bot.url}/webhooks/rest/", timeout=5).close()  # the handler has run
    level = run_level(bot, 1, conversations, "cprofile")
    _signal_and_wait(bot, signal.SIGUSR1, paths.profile)
    return {
        "messages": level["messages"],
        "valid": valid(level),
        "file": str(paths.profile.relative_to(ROOT)),
        "top_by_own_time": _profile_summary(paths.profile, level["messages"]),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _profile_summary(path: Path, n_messages: int, limit: int = 25) -> list[dict[str, Any]]:
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.split("site-packages/")[-1].split("lib/python3.11/")[-1].replace(str(ROOT) + "/", "")
        rows.append(
            {
                "function": f"{short}:{line}({func})",
                "calls_per_msg": round(ncalls / n_messages, 1),
                "own_ms_per_msg": round(tottime / n_messages * 1000, 2),
                "cumulative_ms_per_msg": round(cumtime / n_messages * 1000, 2),
            }
        )
    rows.sort(key=lambda r: -r["own_ms_per_msg"])
    return rows[:limit]


def inmemory_endpoints(run_dir: Path) -> Path:
    """endpoints.yml without the tracker store: Rasa then keeps conversations in memory."""
    data = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    data.pop("tracker_store", None)
    path = run_dir / "endpoints-inmemory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- report ---------------------------------------------------------------------------------------


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return str(v)


def print_table(rows: list[tuple[str, Any, Any]], headers: tuple[str, str, str]) -> None:
    """Label, a, b and a/b."""
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'':<{width}}{headers[0]:>12}{headers[1]:>12}{headers[2]:>12}")
    for label, a, b in rows:
        if a is None and b is None:
            print(label)
            continue
        numbers = isinstance(a, int | float) and isinstance(b, int | float) and a and b
        r = (
            f"{a / b:.2f}"
            if numbers and "load" not in label and "failed" not in label and "client" not in label
            else "-"
        )
        print(f"{label:<{width}}{fmt(a):>12}{fmt(b):>12}{r:>12}")


LEVEL_ROWS = (
    ("p50_ms", "p50 (ms)"),
    ("p95_ms", "p95 (ms)"),
    ("p99_ms", "p99 (ms)"),
    ("throughput_msg_s", "throughput (msg/s)"),
    ("server_cpu_ms_per_msg", "server CPU per message (ms)"),
    ("other_processes_cores", "other processes' load (cores)"),
    ("client_cores", "the bench's client (cores)"),
)


def comparison_rows(results: dict[str, Any], a: str, b: str) -> list[tuple[str, Any, Any]]:
    A, B = results["bots"][a], results["bots"][b]
    rows: list[tuple[str, Any, Any]] = []
    ta, tb = results["training"].get(a), results["training"].get(b)
    if ta and tb:
        rows.append(("training (s)", ta["seconds"], tb["seconds"]))
        rows.append(("training peak RSS (MB)", float(ta["peak_rss_mb"]), float(tb["peak_rss_mb"])))
    if A.get("ready_s") and B.get("ready_s"):
        rows.append(("time to ready (s)", A["ready_s"], B["ready_s"]))
    rows.append(("first reply after ready (ms)", A["first_reply_ms"], B["first_reply_ms"]))
    for c in LEVELS:
        la, lb = A["levels"].get(str(c)), B["levels"].get(str(c))
        if not la or not lb:
            continue
        rows.append((f"{c} concurrent ({la['messages']} / {lb['messages']} messages)", None, None))
        rows += [(f"  {label}", la[key], lb[key]) for key, label in LEVEL_ROWS]
        rows.append(("  failed replies (errors + empty)", failed(la), failed(lb)))
    rows.append(("RSS after load (MB)", None, None))
    for name in ("Rasa server", "action server", "worker"):
        if name in A["memory"] or name in B["memory"]:
            rows.append((f"  {name}", A["memory"].get(name), B["memory"].get(name)))
    rows.append(("  servers (Rasa + action)", A["memory"]["servers"], B["memory"]["servers"]))
    rows.append(("  all processes", A["memory"]["all processes"], B["memory"]["all processes"]))
    return rows


def failed(level: dict[str, Any]) -> int:
    return level["errors"] + level["empty_replies"]


def verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    full, bare = results["bots"]["full"], results["bots"]["bare"]
    f, b = full["levels"]["1"]["p50_ms"], bare["levels"]["1"]["p50_ms"]
    p95 = full["levels"]["10"]["p95_ms"]
    return [
        {
            "target": "1 conversation: p50 no slower than bare",
            "measured": f"{f} ms vs {b} ms (x{f / b:.2f})",
            "pass": f <= b,
        },
        {
            "target": f"10 concurrent: p95 < {TARGET_P95_10_S * 1000:.0f} ms",
            "measured": f"{p95} ms (bare {bare['levels']['10']['p95_ms']} ms)",
            "pass": p95 < TARGET_P95_10_S * 1000,
        },
        {
            "target": f"time to ready < {TARGET_READY_S:.0f} s",
            "measured": f"{full['ready_s']} s (bare {bare['ready_s']} s)",
            "pass": full["ready_s"] < TARGET_READY_S,
        },
    ]


PRODUCTION_LEVELS = (10, 50)


def measure_production(run_dir: Path, counts: dict[int, int]) -> dict[str, Any]:
    from production_bench import results_for, start_production

    print("==> starting the production profile ...", flush=True)
    prod = start_production(run_dir)
    try:
        print(f"    ready in {prod.ready_s:.1f} s", flush=True)
        first = warm_up(prod)
        levels = {}
        for c in PRODUCTION_LEVELS:
            print(f"==> production: {c} concurrent, {counts[c]} conversations ...", flush=True)
            levels[str(c)] = level = run_level(prod, c, counts[c], f"production-{c}")
            print(
                f"    p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, {level['throughput_msg_s']} msg/s, "
                f"errors {level['errors']}, goal reached {level['conversations_reaching_goal']}/{counts[c]}",
                flush=True,
            )
        return {**results_for(prod, levels), "first_reply_ms": first}
    finally:
        prod.stop()


def production_verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    prod, bare = results["bots"]["production"], results["bots"]["bare"]
    out = []
    for c in PRODUCTION_LEVELS:
        p, b = prod["levels"][str(c)]["throughput_msg_s"], bare["levels"][str(c)]["throughput_msg_s"]
        out.append(
            {
                "target": f"production throughput at {c} concurrent >= 2x the bare single process",
                "measured": f"{p} vs {b} msg/s (x{p / b:.2f})",
                "pass": p >= 2 * b and valid(prod["levels"][str(c)]),
            }
        )
    return out


def print_timers(title: str, t: dict[str, Any]) -> None:
    rest = t["rest_latency"]
    print(
        f"\n{title} ({t['messages']} messages, one conversation at a time; REST p50 {rest['p50_ms']} ms, "
        f"mean {rest['mean_ms']} ms, server CPU {rest['server_cpu_ms_per_msg']} ms/message)"
        + ("" if t["valid"] else "  WARNING: errors or conversations that missed the recommendation")
    )
    print("  per step p50 (ms): " + ", ".join(f"{k} {v}" for k, v in t["per_step_p50_ms"].items()))
    print("  Rasa server, wall clock per message (nested: lines overlap):")
    for label, x in t["rasa_server_timers"].items():
        print(f"    {x['ms_per_msg']:>8.2f} ms {x['calls_per_msg']:>6.2f} calls  {label}")
    if act := t.get("action_server"):
        print(
            f"  action server's own timing: {act['whole_requests_ms_per_msg']} ms/message in whole requests, "
            f"{act['action_code_ms_per_msg']} ms in the actions' code"
        )
        for name, a in sorted(act["per_action"].items(), key=lambda kv: -kv[1]["calls_per_msg"]):
            print(
                f"    {a['calls_per_msg']:>5.2f} calls/msg  request {a['whole_request_mean_ms']:>6.2f} ms  "
                f"code {a['action_code_mean_ms']:>6.2f} ms  {name}"
            )


def print_profile(results: dict[str, Any]) -> None:
    p = results["profile"]
    for variant in (INMEMORY,):
        if variant not in results["bots"]:
            continue
        print(f"\nVariant, same run, side by side: {variant}")
        rows = comparison_rows(results, variant, "full")
        print_table(rows, ("variant", "full", "var/full"))
    if "parse" in p:
        print("\nNLU alone (POST /model/parse, one at a time):")
        for name, parse in p["parse"].items():
            print(
                f"  {name}: p50 {parse['p50_ms']} ms, mean per script message "
                f"{parse['mean_per_script_message_ms']} ms; HTTP floor (GET) {parse['http_floor_p50_ms']} ms"
            )
            print("    " + ", ".join(f"{t!r} {v}" for t, v in parse["per_text_p50_ms"].items()))
    if "timers" in p:
        print_timers("Where a message's time goes, full assistant", p["timers"])
    if "cprofile" in p:
        c = p["cprofile"]
        print(
            f"\ncProfile of the Rasa server ({c['messages']} messages, profiler on: all slower; {c['file']}):"
        )
        print("  ms per message: own, cumulative, calls per message, function")
        for row in c["top_by_own_time"][:15]:
            print(
                f"  {row['own_ms_per_msg']:>7.2f} {row['cumulative_ms_per_msg']:>8.2f} "
                f"{row['calls_per_msg']:>7.1f}  {row['function']}"
            )


def git_state() -> dict[str, Any]:
    """The commit, and which files differ from it: the working tree is what was measured."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_files": changed}


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few messages: a smoke run")
    parser.add_argument(
        "--skip-training", action="store_true", help="do not time training (reuse var/bench/bare)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile the full assistant (about 5 min more)"
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="also the production profile's throughput through nginx (PostgreSQL and Redis on this machine)",
    )
    args = parser.parse_args()
    counts = QUICK_CONVERSATIONS if args.quick else CONVERSATIONS
    os.environ.update(QUIET_ENV)
    os.environ.pop("TELEGRAM_BOT_TOKEN", None)  # no bridge in a benchmark

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = BENCH / f"run-{stamp}"
    run_dir.mkdir(parents=True)
    began = time.perf_counter()
    model = latest_model(ROOT)
    results: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "options": {
            "quick": args.quick,
            "skip_training": args.skip_training,
            "profile": args.profile,
            "production": args.production,
        },
        "machine": {"cores": os.cpu_count(), "loadavg_start": loadavg()},
        "full_model": {"path": str(model.relative_to(ROOT)), "modified": time.ctime(model.stat().st_mtime)},
        "git": git_state(),
        "scripts": {"full": FULL_SCRIPT, "bare": BARE_SCRIPT},
        "conversations_per_level": counts,
        "training": {},
        "bots": {},
        "profile": {},
    }
    print(f"bench/run.py: {os.cpu_count()} cores, load average {loadavg()} (1, 5, 15 min)")
    print(
        f"  model {results['full_model']['path']} ({results['full_model']['modified']}); files in {run_dir}"
    )

    if not args.skip_training:
        print("==> training the full assistant (rasa train, empty cache) ...", flush=True)
        results["training"]["full"] = train_full(run_dir)
        print(f"    {results['training']['full']['seconds']} s", flush=True)
    if not args.skip_training or not list((BARE_DIR / "models").glob("*.tar.gz")):
        print("==> rasa init --no-prompt (creates and trains the bare assistant) ...", flush=True)
        bare_training = make_bare(run_dir)
        print(f"    {bare_training['seconds']} s", flush=True)
        if not args.skip_training:
            results["training"]["bare"] = bare_training

    bots: list[Bot] = []
    try:
        print("==> starting the full assistant ...", flush=True)
        full = start_full(run_dir, "full")
        bots.append(full)
        print(f"    ready in {full.ready_s:.1f} s; starting the bare assistant ...", flush=True)
        bare = start_bare(run_dir)
        bots.append(bare)
        print(f"    ready in {bare.ready_s:.1f} s", flush=True)
        if args.profile:
            print(f"==> starting variant: {INMEMORY} ...", flush=True)
            mem = start_full(run_dir, INMEMORY, ("--endpoints", str(inmemory_endpoints(run_dir))))
            mem.levels = VARIANT_LEVELS
            bots.append(mem)
        for bot in bots:
            bot.results = {
                "ready_s": round(bot.ready_s, 1) or None,
                "memory_at_ready": bot.memory(),
                "first_reply_ms": warm_up(bot),
                "levels": {},
            }
        for c in LEVELS:
            for bot in bots:
                if c not in bot.levels:
                    continue
                print(f"==> {bot.name}: {c} concurrent, {counts[c]} conversations ...", flush=True)
                level = run_level(bot, c, counts[c], f"{bot.name}-{c}")
                bot.results["levels"][str(c)] = level
                print(
                    f"    p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, "
                    f"{level['throughput_msg_s']} msg/s, errors {level['errors']}, "
                    f"empty replies {level['empty_replies']}, "
                    f"goal reached {level['conversations_reaching_goal']}/{counts[c]}",
                    flush=True,
                )
        for bot in bots:
            bot.results["memory"] = bot.memory()
            results["bots"][bot.name] = bot.results

        if args.profile:
            repeats = 2 if args.quick else 10
            window = 2 if args.quick else 10
            print("==> profile: NLU parse alone ...", flush=True)
            results["profile"]["parse"] = {
                "full": time_parse(full, repeats),
                "bare": time_parse(bare, repeats),
            }
            for bot in bots[1:3]:  # the bare assistant and the in-memory variant are done
                bot.stop()
            print(
                "==> profile: full assistant, instrumented Rasa server and self-timing action server ...",
                flush=True,
            )
            paths = instrument(full, run_dir, timed_actions=True)
            warm_up(full)
            assert full.servers is not None
            results["profile"]["timers"] = timers_window(full, paths, window, full.servers.action_url)
            print("==> profile: cProfile of the Rasa server ...", flush=True)
            results["profile"]["cprofile"] = cprofile_window(full, paths, max(2, window // 2))
        if args.production:
            for bot in bots:  # the cores and the memory go to the profile's processes
                bot.stop()
            try:
                results["bots"]["production"] = measure_production(run_dir, counts)
            except Exception as error:  # the other figures are still worth writing
                results["production_error"] = f"{type(error).__name__}: {error}"[:2000]
                print(f"    production profile failed: {results['production_error']}", flush=True)
    finally:
        for bot in bots:
            bot.stop()

    results["machine"]["loadavg_end"] = loadavg()
    results["duration_s"] = round(time.perf_counter() - began, 1)
    results["verdict"] = verdict(results)
    out = BENCH / f"results-{stamp}.json"
    out.write_text(json.dumps(results, indent=2))

    print(
        f"\nResults ({'quick' if args.quick else 'full'} run, {results['duration_s']:.0f} s; "
        f"load average {results['machine']['loadavg_start']} at start, "
        f"{results['machine']['loadavg_end']} at end, {os.cpu_count()} cores)\n"
    )
    print_table(comparison_rows(results, "full", "bare"), ("full", "bare", "full/bare"))
    print("\nVerdict (full assistant):")
    for v in results["verdict"]:
        print(f"  {'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['measured']}")
    invalid = [
        f"{b} at {c}" for b, r in results["bots"].items() for c, lv in r["levels"].items() if not valid(lv)
    ]
    if invalid:
        print(f"  WARNING: errors or conversations that missed their goal: {', '.join(invalid)}")
    if args.production and "production" in results["bots"]:
        print("\nProduction profile (2 Rasa + 2 action servers, nginx, PostgreSQL, Redis) against bare:")
        print_table(comparison_rows(results, "production", "bare"), ("production", "bare", "prod/bare"))
        for v in production_verdict(results):
            print(f"  {'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['measured']}")
        results["verdict"] += production_verdict(results)
        out.write_text(json.dumps(results, indent=2))
    if args.profile:
        print_profile(results)
    print(f"\nJSON: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
