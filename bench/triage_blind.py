# ruff: noqa: E501 (report lines read better whole)
"""Score scripted triage conversations through the real servers (issue 18).

    .venv/bin/python bench/triage_blind.py tests/blind/triage/2026-12-01.yml
    .venv/bin/python bench/triage_blind.py tests/data/triage/*.yml --show   # development sets only

Each conversation in a set is a list of user turns with the services a good signposter
would offer (`expect_services`), others that are fine (`allowed_services`) and those that
must not appear (`must_not`). The turns are sent in order to the REST channel of a freshly
started assistant; when the script runs out before a recommendation, the scorer answers
the next questions "not sure" (at most three), as a person who has said all they want to.

Prints figures and the *categories* of failure only (role, nation, service ids), never a
turn's text, so a sealed set stays sealed. `--show` prints the conversations that failed,
for development sets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXTRA_ANSWERS = 3


@dataclass
class Outcome:
    case: dict
    recommended: list[str] = field(default_factory=list)
    turns_to_recommendation: int | None = None
    extra_answers: int = 0
    asked: list[str] = field(default_factory=list)  # the slots asked, in order
    asked_again: list[str] = field(default_factory=list)  # asked after it was already answered
    repeated: list[str] = field(default_factory=list)  # the same question twice in a row
    transcript: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.turns_to_recommendation is not None

    @property
    def missing(self) -> list[str]:
        return [s for s in self.case.get("expect_services") or [] if s not in self.recommended]

    @property
    def forbidden(self) -> list[str]:
        return [s for s in self.recommended if s in (self.case.get("must_not") or [])]


def service_nations(knowledge) -> dict[str, set[str]]:
    """The nations each service covers: its own nation for a local one."""
    areas = {a.id: a for a in knowledge.areas}
    out: dict[str, set[str]] = {}
    for s in knowledge.services:
        out[s.id] = {getattr(areas.get(a), "nation", None) or "england" for a in s.eligibility.areas}
    return out


def tracker(base: str, sender: str, token: str) -> dict:
    url = f"{base}/conversations/{sender}/tracker?token={token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def questions_asked(events: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """Slots asked, those asked once already answered, and those asked twice running."""
    asked, again, repeated = [], [], []
    filled: dict[str, object] = {}
    last_asked = None
    answered = False  # a user message came since the last question (Rasa may set it twice a turn)
    for e in events:
        if e.get("event") == "slot":
            name, value = e.get("name"), e.get("value")
            if name == "requested_slot":
                if value is None or (value == last_asked and not answered):
                    continue
                asked.append(value)
                if filled.get(value) not in (None, "unknown"):
                    again.append(value)
                if value == last_asked:
                    repeated.append(value)
                last_asked, answered = value, False
            else:
                filled[name] = value
        elif e.get("event") == "user":
            answered = True
        elif e.get("event") == "active_loop" and e.get("name") is None:
            last_asked = None
    return asked, again, repeated


def run_case(servers, case: dict, index: int) -> Outcome:
    from tests.chat import Conversation

    chat = Conversation(servers.rasa_url, sender=f"blind-{index}", token=servers.token)
    outcome = Outcome(case)
    turns = [str(t) for t in case.get("turns") or []]
    sent = 0
    for text in turns + ["not sure"] * EXTRA_ANSWERS:
        if sent >= len(turns):
            if outcome.reached:
                break
            outcome.extra_answers += 1
        replies = chat.say(text)
        sent += 1
        outcome.transcript.append((text, Conversation.texts(replies)))
        found = Conversation.custom(replies, "recommendations")
        if found is not None:
            outcome.recommended = [r["service_id"] for r in found]
            if outcome.turns_to_recommendation is None:
                outcome.turns_to_recommendation = sent
    events = tracker(servers.rasa_url, chat.sender, servers.token).get("events", [])
    outcome.asked, outcome.asked_again, outcome.repeated = questions_asked(events)
    return outcome


def start():
    """The real servers on free ports with their own databases, as the tests start them."""
    from chatbot.runner import free_port
    from tests.conftest import start_test_servers

    # No referral is made here, so the SMTP port is only a free one nobody listens on.
    return start_test_servers(Path(tempfile.mkdtemp(prefix="triage-blind-")), free_port())


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.1f}%)" if d else "0/0"


def report(outcomes: list[Outcome], nations: dict[str, set[str]], show: bool) -> dict:
    reached = [o for o in outcomes if o.reached]
    all_key = [o for o in reached if not o.missing]
    main_ok = [o for o in reached if not o.case.get("expect_services") or o.case["expect_services"][0] in o.recommended]
    forbidden = [o for o in outcomes if o.forbidden]
    out_of_nation = [
        (o, s) for o in outcomes for s in o.recommended if o.case.get("nation") not in nations.get(s, set())
    ]
    asked_again = [o for o in outcomes if o.asked_again]
    turns = [o.turns_to_recommendation for o in reached]
    figures = {
        "conversations": len(outcomes),
        "reached_recommendation": len(reached),
        "all_key_services": len(all_key),
        "main_service": len(main_ok),
        "any_ineligible": len(forbidden),
        "out_of_nation_offers": len(out_of_nation),
        "asked_again_once_answered": len(asked_again),
        "median_turns": statistics.median(turns) if turns else None,
        "needed_extra_answers": sum(1 for o in outcomes if o.extra_answers),
    }
    print(f"conversations: {len(outcomes)}; reached a recommendation: {pct(len(reached), len(outcomes))}")
    print(f"  all key services: {pct(len(all_key), len(reached))} of those reaching one")
    print(f"  the main service: {pct(len(main_ok), len(reached))}")
    print(f"  any must-not service: {pct(len(forbidden), len(outcomes))}")
    print(f"  out-of-nation offers: {len(out_of_nation)} (in {len({id(o) for o, _ in out_of_nation})} conversations)")
    print(f"  a question asked again once answered: {pct(len(asked_again), len(outcomes))}")
    print(f"  a question asked again after a reply that did not answer it: {sum(1 for o in outcomes if o.repeated)}")
    print(f"  median turns to a recommendation: {figures['median_turns']}; "
          f"needed the scorer's 'not sure': {figures['needed_extra_answers']}")  # fmt: skip
    by = Counter()
    for o in outcomes:
        key = (o.case.get("role"), o.case.get("nation"))
        by[key, "n"] += 1
        by[key, "ok"] += int(o.reached and not o.missing and not o.forbidden)
    print("  right (all key, none forbidden) by role and nation:")
    for key in sorted({k for k, _ in by}):
        print(f"    {key[0]:<13}{key[1]:<17}{by[key, 'ok']}/{by[key, 'n']}")
    print("  key services missed: " + ", ".join(
        f"{s} {n}" for s, n in Counter(s for o in reached for s in o.missing).most_common()))  # fmt: skip
    print("  must-not shown: " + ", ".join(
        f"{s} {n}" for s, n in Counter(s for o in outcomes for s in o.forbidden).most_common()))  # fmt: skip
    print("  out of nation: " + ", ".join(
        f"{s} {n}" for s, n in Counter(s for _, s in out_of_nation).most_common()))  # fmt: skip
    print("  asked again: " + ", ".join(
        f"{s} {n}" for s, n in Counter(s for o in outcomes for s in o.asked_again).most_common()))  # fmt: skip
    print("  no recommendation, last question asked: " + ", ".join(
        f"{s} {n}" for s, n in Counter((o.asked or ["none"])[-1] for o in outcomes if not o.reached).most_common()))  # fmt: skip
    if show:
        for o in outcomes:
            if o.reached and not o.missing and not o.forbidden:
                continue
            print(f"\n--- {o.case.get('id')} [{o.case.get('role')}, {o.case.get('nation')}] "
                  f"missing {o.missing} forbidden {o.forbidden} got {o.recommended} asked {o.asked}")  # fmt: skip
            for text, replies in o.transcript:
                print(f"  > {text}")
                for r in replies:
                    print("    " + r.replace("\n", " ")[:220])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print failed conversations (development sets)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.show and any("blind" in p.parts for p in args.sets):
        parser.error("--show would unseal a blind set: move it to tests/data/ first")
    cases = []
    for path in args.sets:
        cases += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("conversations", [])
    from chatbot.knowledge.loader import read_knowledge

    nations = service_nations(read_knowledge(ROOT / "knowledge"))
    servers = start()
    try:
        outcomes = [run_case(servers, case, i) for i, case in enumerate(cases)]
    finally:
        servers.stop()
    figures = report(outcomes, nations, args.show)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
