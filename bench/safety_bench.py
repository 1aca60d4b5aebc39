"""Benchmark: how well the risk check catches crises, and how often it false-alarms.

    .venv/bin/python bench/safety_bench.py

Prints the catch rate per set and category, the false-alarm rate on everyday
idioms and on the NLU training examples, and the time per message.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import yaml

from chatbot.nlu.training_data import plain_examples
from chatbot.safety import assess_risk

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def main() -> None:
    for name in ("crisis_messages", "crisis_messages_holdout"):
        messages = yaml.safe_load((DATA / f"{name}.yml").read_text())["messages"]
        missed = Counter(m["category"] for m in messages if not assess_risk(m["text"]).at_risk)
        total = Counter(m["category"] for m in messages)
        caught = sum(total.values()) - sum(missed.values())
        per = ", ".join(f"{c} {total[c] - missed[c]}/{total[c]}" for c in sorted(total))
        print(f"{name}: caught {caught}/{sum(total.values())} ({per})")
    idioms = yaml.safe_load((DATA / "everyday_idioms.yml").read_text())["messages"]
    alarms = [t for t in idioms if assess_risk(t).at_risk]
    print(f"everyday idioms: {len(alarms)}/{len(idioms)} false alarms ({len(alarms) / len(idioms):.1%})")
    for text in alarms:
        print(f"  false alarm: {text}")
    ordinary = [text for _, text in plain_examples(ROOT / "data" / "nlu", exclude_intents=("crisis",))]
    flagged = sum(assess_risk(t).at_risk for t in ordinary)
    print(f"NLU training examples (not crisis): {flagged}/{len(ordinary)} false alarms")
    sample = [m["text"] for m in yaml.safe_load((DATA / "crisis_messages.yml").read_text())["messages"]]
    sample = (sample + idioms + ordinary) * 20
    start = time.perf_counter()
    for text in sample:
        assess_risk(text)
    per_message = (time.perf_counter() - start) / len(sample) * 1e6
    print(f"time: {per_message:.0f} microseconds per message over {len(sample)} messages")


if __name__ == "__main__":
    main()
