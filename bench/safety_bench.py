"""Benchmark: how well the risk engine catches crises, and how often it false-alarms.

    .venv/bin/python bench/safety_bench.py                 # development sets, the engine itself
    .venv/bin/python bench/safety_bench.py --blind         # the sealed sets under tests/blind/safety
    .venv/bin/python bench/safety_bench.py --through-rasa  # the trained model's whole NLU pipeline

Prints recall by category and level, false alarms by level on each negative set,
the wrong-category rate, recall on generated variants of every case (lower case,
no apostrophes, typos, buried in a long message, a report about someone else),
and the time per message. It prints figures and failure *families* only, never a
message: a sealed set stays unread (docs/safety-evaluation.md). `--show-misses`
lists the texts missed, and refuses to on a sealed set.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLIND = ROOT / "tests" / "blind" / "safety"
# Development sets: read and extended freely (the classifier trains on them, so the
# classifier's own held-out figures are printed by `python -m chatbot safety train`).
DEV = [ROOT / "tests" / "data", ROOT / "knowledge" / "safety" / "corpus", ROOT / "tests" / "data" / "safety"]
# The categories the blind sets are written with, as the engine names them.
CATEGORY = {"suicide": "suicide_self_harm", "self_harm": "suicide_self_harm"}
FILLER = (
    "I have been off work since the spring with my back and my fit note runs out on Friday. "
    "My manager keeps ringing about a phased return and I do not know what to say to him. "
    "The GP said I may be fit for work with amended duties but there are no lighter jobs. "
    "I am on Universal Credit now and the money does not stretch, the rent is late again. "
    "I live in Islington and I am registered at the surgery on the main road. "
    "I would like to get back to work one day, maybe part time, if someone could help. "
)


@dataclass(frozen=True)
class Case:
    text: str
    category: str
    level: str
    about: str
    prior: tuple[str, ...]
    context: str


@dataclass(frozen=True)
class Verdict:
    level: str  # urgent | check | none
    categories: tuple[str, ...]


Assess = Callable[[str, tuple[str, ...]], Verdict]


def load_cases(paths: list[Path]) -> tuple[list[Case], dict[str, list[tuple[str, str]]]]:
    cases: list[Case] = []
    negatives: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        messages = data.get("messages", [])
        data.setdefault("negatives", [])
        data["negatives"] += [{"text": m, "kind": "idiom"} for m in messages if isinstance(m, str)]
        listed = (
            data.get("cases", []) + data.get("examples", []) + [m for m in messages if isinstance(m, dict)]
        )
        for item in [e for e in listed if "category" in e]:
            cases.append(
                Case(
                    text=str(item["text"]),
                    category=CATEGORY.get(item["category"], item["category"]),
                    level=item.get("level", "urgent"),
                    about=item.get("about", "self"),
                    prior=tuple(str(p) for p in item.get("prior") or ()),
                    context=item.get("context", "fresh"),
                )
            )
        rows = data.get("negatives", []) + [e for e in data.get("examples", []) if "kind" in e]
        if rows:
            negatives[path.stem] = [(str(r["text"]), r.get("kind", "ordinary")) for r in rows]
    return cases, negatives


# --- variants: the same case, as other people would type it ------------------------------


def lower(text: str, rng: random.Random) -> str:
    return text.lower()


def no_apostrophes(text: str, rng: random.Random) -> str:
    return text.replace("'", "").replace("\u2019", "")


def typos(text: str, rng: random.Random) -> str:
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 4]
    for i in rng.sample(long_words, min(2, len(long_words))):
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        words[i] = rng.choice(
            [w[:j] + w[j + 1 :], w[:j] + w[j + 1] + w[j] + w[j + 2 :], w[:j] + w[j] + w[j:]]
        )
    return " ".join(words)


def buried(text: str, rng: random.Random) -> str:
    sentences = (FILLER * 3).split(". ")
    at = rng.randrange(len(sentences))
    return ". ".join(sentences[:at] + [text] + sentences[at:])[:1600]


def about_someone_else(text: str, rng: random.Random) -> str:
    who = rng.choice(["My patient", "The person I mentor", "My brother", "My friend"])
    return f'{who} just sent me this and I don\'t know what to do: "{text}"'


VARIANTS = {"lower": lower, "no_apostrophes": no_apostrophes, "typos": typos, "buried": buried,
            "someone_else": about_someone_else}  # fmt: skip


# --- assessors ---------------------------------------------------------------------------


def engine_assessor() -> Assess:
    from chatbot.safety import RecentSignals, assess

    def run(text: str, prior: tuple[str, ...]) -> Verdict:
        recent = RecentSignals.none()
        for earlier in prior:
            recent = recent.after(assess(earlier, recent))
        result = assess(text, recent)
        return Verdict(result.level, result.categories)

    return run


def rasa_assessor() -> Assess:
    """The trained model's NLU: what the assistant itself decides, tracker memory included."""
    import asyncio
    import logging

    import structlog

    # Rasa logs each parsed message's text at debug level: a sealed set must never reach the screen.
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))

    from rasa.core.agent import Agent
    from rasa.core.channels import UserMessage
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from chatbot.nlu.conversation_context import give_nlu_the_conversation

    give_nlu_the_conversation()
    agent = Agent.load(str(ROOT / "models" / "assistant.tar.gz"))
    loop = asyncio.new_event_loop()

    def parse(text: str, tracker: DialogueStateTracker) -> dict:
        return loop.run_until_complete(agent.processor.parse_message(UserMessage(text), tracker))

    def run(text: str, prior: tuple[str, ...]) -> Verdict:
        tracker = DialogueStateTracker.from_events("bench", [])
        for earlier in prior:
            tracker.update(UserUttered(earlier, parse_data=parse(earlier, tracker)))
        data = parse(text, tracker)
        risk = data.get("risk") or {}
        if (data.get("intent") or {}).get("name") != "crisis":
            return Verdict("none", ())
        # Before 2026-12-01 the pipeline named suicide and self-harm apart, and set no level.
        categories = tuple(dict.fromkeys(CATEGORY.get(c, c) for c in risk.get("categories") or ()))
        return Verdict(risk.get("level", "urgent"), categories)

    return run


# --- scoring -----------------------------------------------------------------------------


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.1%})" if d else "0/0"


def score_cases(name: str, cases: list[Case], assess: Assess, show: bool) -> None:
    verdicts = [assess(c.text, c.prior) for c in cases]
    caught = [v.level != "none" for v in verdicts]
    urgent_cases = [(c, v) for c, v in zip(cases, verdicts, strict=True) if c.level == "urgent"]
    right = [c.category in v.categories for c, v in zip(cases, verdicts, strict=True) if v.level != "none"]
    other = [(c, v) for c, v in zip(cases, verdicts, strict=True) if c.about == "other" and v.level != "none"]
    print(f"\n{name}: {len(cases)} crisis cases")
    print(f"  crisis recall (urgent or check): {pct(sum(caught), len(cases))}")
    print(
        f"  urgent recall (cases written as urgent): "
        f"{pct(sum(v.level == 'urgent' for _, v in urgent_cases), len(urgent_cases))}"
    )
    print(f"  right category (of those caught): {pct(sum(right), len(right))}")
    print(
        f"  'someone else' named for reports about others (of those caught): "
        f"{pct(sum('someone_else' in v.categories or c.category == 'child_at_risk' for c, v in other), len(other))}"  # noqa: E501
    )
    by = defaultdict(lambda: [0, 0, 0])
    for c, v in zip(cases, verdicts, strict=True):
        for key in (
            f"category {c.category}",
            f"level {c.level}",
            f"about {c.about}",
            f"context {c.context}",
            "with prior" if c.prior else "single message",
        ):
            by[key][0] += 1
            by[key][1] += v.level != "none"
            by[key][2] += v.level == "urgent"
    for key in sorted(by):
        total, hit, urgent = by[key]
        print(f"    {key:32s} caught {pct(hit, total):18s} urgent {pct(urgent, total)}")
    wrong = Counter(
        f"{c.category} -> {','.join(v.categories) or '-'}"
        for c, v in zip(cases, verdicts, strict=True)
        if v.level != "none" and c.category not in v.categories
    )
    if wrong:
        print("  wrong-category families: " + "; ".join(f"{k} x{n}" for k, n in wrong.most_common(8)))
    if show:
        for c, v in zip(cases, verdicts, strict=True):
            if v.level == "none" or (c.level == "urgent" and v.level != "urgent"):
                print(f"    MISS [{c.category}/{c.level}->{v.level}] {' | '.join(c.prior)} || {c.text}")


def score_variants(cases: list[Case], assess: Assess) -> None:
    rng = random.Random(20261201)
    single = [c for c in cases if not c.prior]
    print(f"  variants (recall over {len(single)} single-message cases):")
    for name, transform in VARIANTS.items():
        hit = sum(assess(transform(c.text, rng), ()).level != "none" for c in single)
        print(f"    {name:16s} {pct(hit, len(single))}")


def score_negatives(name: str, rows: list[tuple[str, str]], assess: Assess, show: bool) -> None:
    verdicts = [assess(text, ()) for text, _ in rows]
    urgent = sum(v.level == "urgent" for v in verdicts)
    check = sum(v.level == "check" for v in verdicts)
    print(f"\n{name}: {len(rows)} ordinary messages")
    print(f"  urgent reply: {pct(urgent, len(rows))}   check question: {pct(check, len(rows))}")
    kinds = Counter(kind for (_, kind), v in zip(rows, verdicts, strict=True) if v.level != "none")
    if kinds:
        print("  false alarms by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    if show:
        for (text, kind), v in zip(rows, verdicts, strict=True):
            if v.level != "none":
                print(f"    ALARM [{kind}->{v.level} {','.join(v.categories)}] {text}")


def timing(texts: list[str], assess: Assess) -> None:
    times = []
    for text in texts:
        start = time.perf_counter()
        assess(text, ())
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(
        f"\ntime per message over {len(times)}: p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, "
        f"max {times[-1]:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blind", action="store_true", help="score the sealed sets in tests/blind/safety")
    parser.add_argument("--through-rasa", action="store_true", help="through the trained model's NLU")
    parser.add_argument(
        "--show-misses", action="store_true", help="list missed texts (development sets only)"
    )
    parser.add_argument("--no-variants", action="store_true")
    args = parser.parse_args()
    folders = [BLIND] if args.blind else DEV
    if args.blind and args.show_misses:
        parser.error(
            "a sealed set is not read: retire it to tests/data/safety first (docs/safety-evaluation.md)"
        )
    paths = [p for folder in folders for p in sorted(folder.glob("*.yml"))]
    if not paths:
        parser.error(f"no sets in {folders}")
    cases, negatives = load_cases(paths)
    assess = rasa_assessor() if args.through_rasa else engine_assessor()
    print(f"sets: {', '.join(p.name for p in paths)} ({'NLU pipeline' if args.through_rasa else 'engine'})")
    if cases:
        score_cases("crisis", cases, assess, args.show_misses)
        if not args.no_variants:
            score_variants(cases, assess)
    for name, rows in negatives.items():
        score_negatives(name, rows, assess, args.show_misses)
    sample = [c.text for c in cases] + [t for rows in negatives.values() for t, _ in rows]
    sample += [buried(t, random.Random(1)) for t in sample[:200]]
    timing(sample[:3000], assess)


if __name__ == "__main__":
    main()
