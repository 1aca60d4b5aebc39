"""Benchmark: load 5,000 generated services, then time recommend().

Prints load time (YAML validation, database upsert, catalogue build) and
recommend() latency p50/p95/p99 over random profiles. Target: p95 under 2 ms.

    .venv/bin/python bench/recommend_bench.py [--services 5000] [--queries 5000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from chatbot.config import PROJECT_ROOT
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.knowledge import vocab
from chatbot.knowledge.loader import read_knowledge
from chatbot.knowledge.store import read_knowledge_from_db, save_knowledge
from chatbot.triage import Catalogue, Profile, recommend


def generate(root: Path, n_services: int, n_areas: int, rng: random.Random) -> list[str]:
    """Copy knowledge/ and add n_areas synthetic areas and n_services services."""
    shutil.copytree(PROJECT_ROOT / "knowledge", root)
    areas_doc = yaml.safe_load((root / "areas.yaml").read_text())
    area_ids = [a["id"] for a in areas_doc["areas"] if a["id"] != "england"]
    for i in range(n_areas):
        areas_doc["areas"].append(
            {
                "id": f"bench-area-{i}",
                "name": f"Bench Area {i}",
                "kind": "unitary",
                "source": {"title": "generated", "url": "https://example.org", "checked": "2026-11-24"},
            }
        )
        area_ids.append(f"bench-area-{i}")
    (root / "areas.yaml").write_text(yaml.safe_dump(areas_doc))
    services = []
    for i in range(n_services):
        eligibility = {"areas": [rng.choice(area_ids)] if rng.random() > 0.02 else ["england"]}
        if rng.random() < 0.7:
            eligibility["work_statuses"] = rng.sample(vocab.WORK_STATUSES, rng.randint(1, 3))
        if rng.random() < 0.3:
            eligibility["condition_categories"] = rng.sample(vocab.CONDITION_CATEGORIES, 2)
        if rng.random() < 0.2:
            eligibility["weeks_off_sick"] = {"more_than": rng.choice([2, 4, 8])}
        if rng.random() < 0.3:
            eligibility["ready_to_work"] = ["yes"]
        if rng.random() < 0.1:
            eligibility["age"] = {"min": 16, "max": rng.choice([25, 64])}
        services.append(
            {
                "id": f"bench-service-{i}",
                "name": f"Bench service {i}",
                "organization": "dwp",
                "status": rng.choice(["active"] * 8 + ["planned", "ended"]),
                "description": "A generated service.",
                "eligibility": eligibility,
                "next_step": "Contact them.",
                "referral": {"method": "self_referral", "how_to": "Call them."},
                "source": {"title": "generated", "url": "https://example.org", "checked": "2026-11-24"},
                "last_verified": "2026-11-24",
            }
        )
    (root / "services" / "bench.yaml").write_text(yaml.safe_dump({"services": services}))
    return area_ids


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--areas", type=int, default=300)
    parser.add_argument("--queries", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "knowledge"
        area_ids = generate(root, args.services, args.areas, rng)
        t0 = time.perf_counter()
        knowledge = read_knowledge(root)
        t1 = time.perf_counter()
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        create_schema(engine)
        with session_scope(engine) as session:
            save_knowledge(session, knowledge)
        t2 = time.perf_counter()
        with session_scope(engine) as session:
            stored = read_knowledge_from_db(session)
        catalogue = Catalogue(stored)
        t3 = time.perf_counter()
    profiles = [
        Profile(
            role=rng.choice(["self", "patient", "helper"]),
            work_status=rng.choice(vocab.WORK_STATUSES),
            weeks_off_sick=rng.choice([None, 1, 3, 6, 12]),
            condition_category=rng.choice(vocab.CONDITION_CATEGORIES),
            area_id=rng.choice(area_ids),
            age=rng.choice([None, 19, 35, 60]),
            ready_to_work=rng.choice(vocab.READY_TO_WORK),
        )
        for _ in range(args.queries)
    ]
    for p in profiles[:200]:  # warm-up
        recommend(p, catalogue)
    timings = []
    for p in profiles:
        start = time.perf_counter()
        recommend(p, catalogue)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"services: {len(knowledge.services)} in {len(knowledge.areas)} areas")
    print(
        f"load: validate {t1 - t0:.2f} s, database upsert {t2 - t1:.2f} s, "
        f"read back + catalogue {t3 - t2:.2f} s, total {t3 - t0:.2f} s"
    )
    print(
        f"recommend() over {len(timings)} profiles: p50 {statistics.median(timings):.3f} ms, "
        f"p95 {percentile(timings, 95):.3f} ms, p99 {percentile(timings, 99):.3f} ms "
        f"(target p95 < 2 ms: {'met' if percentile(timings, 95) < 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
