"""Benchmark: how replies to the consent question are read, above all proxy consent.

    .venv/bin/python bench/consent_bench.py            # development set (tests/data/consent)
    .venv/bin/python bench/consent_bench.py --blind    # the sealed set (tests/blind/consent)
    .venv/bin/python bench/consent_bench.py --blind --legacy   # the reading before 2026-12-01

Prints, per role, how each expected answer was read (a confusion table) and the one
figure that must be zero: proxy replies that would reach the details step. Figures
only, never a reply's text; `--show-misses` lists them for a development set only.
`--legacy` reads replies as actions/referral.py did on 2026-12-01 (the trained model's
intent, then its yes/no checks), from the copy kept in git history.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load(folder: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(folder.glob("*.yml")):
        rows += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("replies", [])
    return rows


def new_reader():
    from chatbot.referrals.consent_reply import read_consent_reply

    role_slot = {"self": "self", "professional": "patient", "helper": "helper"}
    return lambda text, role: read_consent_reply(text, role_slot[role]).decision


def legacy_reader():
    """actions/referral.py's _consent_decision as it was (run before it moved), over the model's NLU."""
    import asyncio
    import logging

    import structlog
    from rasa.core.agent import Agent
    from rasa_sdk import Tracker

    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    from actions.referral import _consent_decision  # noqa: PLC0415 (gone after 2026-12-01)

    agent = Agent.load(str(ROOT / "models" / "assistant.tar.gz"))
    loop = asyncio.new_event_loop()

    def read(text: str, role: str) -> str:
        parsed = loop.run_until_complete(agent.parse_message(text))
        tracker = Tracker("bench", {}, parsed, [], False, None, {}, "")
        decision = _consent_decision(tracker)
        return {"given": "yes", "refused": "no"}.get(decision, "unclear")

    return read


def expected_reading(row: dict) -> str:
    """Proxy is read 'not theirs'; a typed yes about someone else is confirmed with a button first."""
    if row["expected"] == "proxy":
        return "not_theirs"
    if row["expected"] == "yes" and row["role"] != "self":
        return "confirm"
    return row["expected"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blind", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args()
    if args.blind and args.show_misses:
        parser.error("a sealed set is not read: retire it to tests/data/consent first")
    folder = ROOT / "tests" / ("blind" if args.blind else "data") / "consent"
    rows = load(folder)
    read = legacy_reader() if args.legacy else new_reader()
    table: dict[str, Counter] = defaultdict(Counter)
    reached_details = typed_as_yes = 0
    for row in rows:
        got = read(row["text"], row["role"])
        table[f"{row['role']:12s} {row['expected']:8s}"][got] += 1
        reached_details += row["expected"] == "proxy" and got == "yes"
        typed_as_yes += row["expected"] == "proxy" and got in ("yes", "confirm")
        wrong = got != expected_reading(row)
        if args.show_misses and wrong:
            print(f"  MISS [{row['role']}/{row['expected']}->{got}] {row['text']}")
    print(f"{folder.relative_to(ROOT)}: {len(rows)} replies")
    print("  role         expected -> read as")
    for key in sorted(table):
        print(f"  {key} -> " + ", ".join(f"{k} {n}" for k, n in table[key].most_common()))
    proxies = sum(1 for r in rows if r["expected"] == "proxy")
    right = sum(read(r["text"], r["role"]) == expected_reading(r) for r in rows)
    print(f"  read exactly as expected: {right}/{len(rows)} ({right / len(rows):.1%})")
    print(f"  proxy replies read as the person's own yes (asked to confirm): {typed_as_yes}/{proxies}")
    print(f"  proxy replies that would reach the details step: {reached_details}/{proxies}")


if __name__ == "__main__":
    main()
