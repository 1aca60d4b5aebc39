"""How many people at once, typing as people do, the assistant answers quickly.

    .venv/bin/python bench/capacity.py                      # embedded default: 100, 200, 400, 600 people
    .venv/bin/python bench/capacity.py --production         # the production profile through nginx
    .venv/bin/python bench/capacity.py --people 20 --think 1  # a smoke run

bench/run.py measures with no pause between messages (each "conversation" sends its next
message the moment the reply arrives): a stress figure. Here each simulated person reads
the reply and types the next message, pausing `--think` seconds on average (uniformly
between half and one and a half times it), and starts at a random moment within the first
pause, so people are not in step. For each number of people it prints the reply time
p50/p95/p99, messages a second, server CPU per message and the conversations finished.
The script is bench/run.py's resident conversation (9 messages, to a recommendation).

Writes var/bench/capacity-<timestamp>.json. Each level takes about 9 x think seconds
(45 s at the default 5 s), plus start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BENCH, FULL_SCRIPT, QUIET_ENV, Bot, git_state, loadavg, percentile, start_full  # noqa: E402

PEOPLE = (100, 200, 400, 600)
THINK_S = 5.0
REPLY_TARGET_S = 1.0
PEOPLE_PER_CLIENT = 50  # a reply within a second feels immediate in a chat


async def _people(bot: Bot, people: int, think: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    finished = 0
    # Several small clients, not one big one: httpx's pool looks through every connection it
    # holds for each request, and one client for 800 people used most of a core itself.
    limits = httpx.Limits(
        max_connections=PEOPLE_PER_CLIENT + 2, max_keepalive_connections=PEOPLE_PER_CLIENT + 2
    )
    clients = [httpx.AsyncClient(timeout=120, limits=limits) for _ in range(-(-people // PEOPLE_PER_CLIENT))]

    async def person(n: int) -> None:
        nonlocal finished
        client = clients[n % len(clients)]
        sender = f"capacity-{people}-{n}-{uuid.uuid4().hex[:8]}"
        await asyncio.sleep(rng.uniform(0, think))
        for step, text in enumerate(FULL_SCRIPT):
            if step:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
            started = time.perf_counter()
            try:
                reply = await client.post(
                    f"{bot.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                )
                reply.raise_for_status()
                reply.json()
            except (httpx.HTTPError, ValueError) as error:
                errors.append(f"{type(error).__name__}: {error}"[:200])
                return
            latencies.append(time.perf_counter() - started)
        finished += 1

    try:
        await asyncio.gather(*(person(n) for n in range(people)))
    finally:
        for client in clients:
            await client.aclose()
    return {"latencies": latencies, "errors": errors, "finished": finished}


def run_people(bot: Bot, people: int, think: float) -> dict[str, Any]:
    cpu0, own0, started = bot.cpu_s(), time.process_time(), time.perf_counter()
    raw = asyncio.run(_people(bot, people, think, seed=people))
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - own0  # the simulated people, on the same two cores
    lat, n = raw["latencies"], len(raw["latencies"])
    return {
        "people": people,
        "think_s": think,
        "messages": n,
        "errors": len(raw["errors"]),
        "first_error": raw["errors"][0] if raw["errors"] else None,
        "conversations_finished": raw["finished"],
        "wall_s": round(wall, 1),
        "p50_ms": round(percentile(lat, 50) * 1000, 1),
        "p95_ms": round(percentile(lat, 95) * 1000, 1),
        "p99_ms": round(percentile(lat, 99) * 1000, 1),
        "throughput_msg_s": round(n / wall, 1) if wall else None,
        "server_cpu_ms_per_msg": round((bot.cpu_s() - cpu0) / n * 1000, 1) if n else None,
        "server_cores": round((bot.cpu_s() - cpu0) / wall, 2) if wall else None,
        "client_cores": round(client_cpu / wall, 2) if wall else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=list(PEOPLE), help="people, a level each")
    parser.add_argument("--think", type=float, default=THINK_S, help="mean pause between messages (s)")
    parser.add_argument("--production", action="store_true", help="the production profile instead")
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    os.environ.pop("TELEGRAM_BOT_TOKEN", None)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = BENCH / f"capacity-run-{stamp}"
    run_dir.mkdir(parents=True)
    print(f"bench/capacity.py: {os.cpu_count()} cores, load average {loadavg()}; files in {run_dir}")
    if args.production:
        from production_bench import start_production

        bot: Bot = start_production(run_dir)
    else:
        bot = start_full(run_dir, "full")
    levels = []
    try:
        for people in args.people:
            print(f"==> {people} people, pausing about {args.think:g} s between messages ...", flush=True)
            level = run_people(bot, people, args.think)
            levels.append(level)
            print(
                f"    p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, p99 {level['p99_ms']} ms, "
                f"{level['throughput_msg_s']} msg/s, server {level['server_cores']} cores, "
                f"client {level['client_cores']} cores, "
                f"{level['conversations_finished']}/{people} finished, errors {level['errors']}",
                flush=True,
            )
    finally:
        bot.stop()

    within = [lv["people"] for lv in levels if lv["p95_ms"] <= REPLY_TARGET_S * 1000 and not lv["errors"]]
    print(
        f"\n{'production profile' if args.production else 'embedded default'}: p95 reply within "
        f"{REPLY_TARGET_S:g} s for up to {max(within) if within else 'none of the'} people tried "
        f"(of {', '.join(str(p) for p in args.people)})"
    )
    out = BENCH / f"capacity-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "started": stamp,
                "production": args.production,
                "machine": {"cores": os.cpu_count()},
                "git": git_state(),
                "levels": levels,
            },
            indent=2,
        )
    )
    print(f"JSON: {out.relative_to(BENCH.parent.parent)}")


if __name__ == "__main__":
    main()
