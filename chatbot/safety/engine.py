"""The risk engine: a level and categories for every message, in the light of the conversation.

Layers, any of which can raise the level:
1. normalisation (chatbot/safety/normalise.py): one spelling however it was typed;
2. reviewed patterns, the floor (chatbot/safety/patterns.py);
3. the project's own classifier (chatbot/safety/classifier.py), sentence by
   sentence, so one sentence of risk in a long message about fit notes counts
   in full;
4. context: the message read together with the one before it, from that one's
   classifier trace (numbers, never its text), so "tonight" after "i've kept my
   tablets back" counts even when neither reached the bar alone;
5. memory (chatbot/safety/memory.py): after a signal, lower thresholds, farewells
   and places of danger read as urgent, and the answer to a check question.
Two narrow layers can lower a level: an explicit past-and-resolved cue in the
same sentence ("chest pain last year, all tests fine") takes away a *medical
emergency* found there (issue 16's rule); and a suicide, self-harm, abuse, overdose
or child-at-risk sign told only as long past, with nothing putting it in the present,
is a check (the direct question, routes beside it), never nothing (hazard H13).

Levels: `urgent` (the routes at once), `check` (the direct question with the
routes beside it), `none`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from chatbot.config import load_settings
from chatbot.safety.classifier import CLASSES
from chatbot.safety.memory import RecentSignals
from chatbot.safety.normalise import Normaliser
from chatbot.safety.patterns import CATEGORIES, RiskPatterns

MAX_CHARS = 20_000  # risk can hide anywhere; beyond this we read the start and the end
MAX_SEGMENTS = 60
SEGMENT_WORDS = 40
WHOLE_MESSAGE_CHARS = 400  # a run-on sentence is read in windows of this many words
MEMORY_FACTOR = 0.5  # thresholds are halved for a while after a signal
# Where between the check and urgent bars the joined reading of two messages must score.
# Chosen 2026-12-03 on the development sets' 415 two-turn cases (which the classifier does
# not train on) against 3,801 random pairs of ordinary messages: without the layer 92.3% of
# the cases were caught; with it at 0.25, 94.9%, and 5 pairs (0.13%) got a check question,
# none the urgent routes. Lower bars caught more and asked more (0: 12 pairs), higher fewer.
CONTEXT_BAR = 0.25
TRACE_CHARS = 600  # messages longer than this leave no trace for the next one
CHECK_ANSWER_WORDS = 6  # a hedged yes ("maybe", "i am") answers the check only in a reply this short
# What a long-past cue turns from urgent into the check question (hazard H13); an overdose
# or a child at risk only when the past is dated ("in 2014", "when I was 19").
TOLD_AS_PAST = frozenset({"suicide_self_harm", "abuse"})
TOLD_AS_DATED_PAST = frozenset({"overdose", "child_at_risk"})
RESOLVABLE = frozenset({"medical_emergency"})  # what a past-and-resolved cue may take away (not an overdose:
# "took them this morning, I feel ok now" is an emergency)
ABOUT_OTHER_ROLES = frozenset({"patient", "helper", "professional", "someone_else"})
_YOUNG_PERSON_ABOUT_SELF = re.compile(
    r"\b(hits|hurts|touches|beats|locks|hit|hurt|touched|beat|locked|scares|slaps|kicks|punches) me\b"
    r"|\b(i am|im|i m) (only )?(1[0-7]|[5-9])( years old| yo)?\b|\bat school\b|\bmy (teacher|mum|dad|stepdad|stepmum|parents?)\b.{0,40}\bme\b"  # noqa: E501
)
# A child under 18 named in the message: "my son's 14", "my 12yo", "she is only 15".
_CHILD_NAMED = re.compile(
    r"\b(son|daughter|child|kid|boy|girl|niece|nephew|grandson|granddaughter|stepson|stepdaughter|lad|lass)"
    r"( s| is| aged| who is)? (only )?(1[0-7]|[2-9])\b(?! (weeks|months|hours|days|stone|kg|mg))"
    r"|\b(1[0-7]|[2-9]) ?(yo|y o|year old|yr old|years old)\b"
    r"|\b(he|she) (is|s) (only )?(1[0-7]|[5-9])\b(?! (weeks|months|hours|days|stone|kg|mg|tablets|pills))"
)
CHILD_ROUTES_FOR = frozenset({"suicide_self_harm", "overdose", "abuse"})
_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+|\n+|(?<=\w)\s*[|•]\s*")


@dataclass(frozen=True)
class Assessment:
    level: str  # urgent | check | none
    categories: tuple[str, ...]  # in CATEGORIES order; "someone_else" when it is about another person
    about: str = "self"  # self | other
    # which layers raised it: patterns, classifier, context, memory, check_answer, repeat, child, past
    layers: tuple[str, ...] = ()
    check_answer: str | None = None  # "yes" / "no" when this message answered the check question
    trace: tuple[float, ...] = ()  # for reading the next message with this one (never text)

    @property
    def at_risk(self) -> bool:
        return self.level != "none"

    @property
    def cleared(self) -> bool:
        """This message answered the check question with a plain no, and carries no risk itself."""
        return self.check_answer == "no" and self.level == "none"

    def as_parse_data(self) -> dict:
        """What the NLU attaches to the message: levels and categories only, never text."""
        data = {"level": self.level, "categories": list(self.categories), "about": self.about}
        if "repeat" in self.layers:
            data["repeat"] = True  # said again by memory: not to be repeated a second time
        if self.check_answer:
            data["check_answer"] = self.check_answer
        return data


NONE = Assessment("none", ())


class RiskEngine:
    def __init__(self, normaliser: Normaliser, patterns: RiskPatterns, lexicon: dict, classifier=None):
        self.normaliser = normaliser
        self.patterns = patterns
        self._classifier = classifier
        self._resolved = [
            re.compile("|".join(f"(?:{p})" for p in lexicon.get("resolved_cues", [])) or "(?!)")
        ]
        self._continuation = [re.compile(p) for p in lexicon.get("continuation_cues", [])]
        self._past = [re.compile(p) for p in lexicon.get("past_cues", [])]
        self._dated_past = [re.compile(p) for p in lexicon.get("dated_past_cues", [])]
        self._present = [re.compile(p) for p in lexicon.get("present_cues", [])]
        self._present_exceptions = [re.compile(p) for p in lexicon.get("present_cue_exceptions", [])]
        self._recent = [re.compile(p) for p in lexicon.get("recent_cues", [])]
        self._yes = [re.compile(p) for p in lexicon.get("check_yes", [])]
        self._yes_short = [re.compile(p) for p in lexicon.get("check_yes_short", [])]
        self._no = [re.compile(p) for p in lexicon.get("check_no", [])]
        self._about_other = [re.compile(p) for p in lexicon.get("about_other_cues", [])]
        self._acknowledged = [re.compile(p) for p in lexicon.get("acknowledgements", [])]
        self._second_bar = float(lexicon.get("second_category_bar", 1.01))  # 1.01: one kind a sentence
        self._urgent_on_any_sign = frozenset(lexicon.get("urgent_on_any_sign", ()))
        # ...and for which of them the classifier's level head must at least this much think it now.
        self._any_sign_level = {c: float(v) for c, v in (lexicon.get("any_sign_level_for") or {}).items()}
        self._urgent_level_for = {c: float(v) for c, v in (lexicon.get("urgent_level_for") or {}).items()}

    @property
    def classifier(self):
        if self._classifier is None:
            from chatbot.safety.classifier import load_classifier

            self._classifier = load_classifier()
        return self._classifier

    def assess(self, text: str, recent: RecentSignals | None = None, role: str | None = None) -> Assessment:
        recent = recent or RecentSignals.none()
        if not text or not text.strip():
            return NONE
        if len(text) > MAX_CHARS:
            text = text[: MAX_CHARS // 2] + "\n" + text[-MAX_CHARS // 2 :]
        whole = self.patterns.without_idioms(self.normaliser.normalise(text))
        segments = self._segments(text, whole)
        urgent: dict[str, str] = {}  # category -> the layer that found it
        check: dict[str, str] = {}
        resolved_only: set[str] = set(RESOLVABLE)  # resolvable categories seen only beside a resolved cue

        found = self.patterns.find(whole)
        for category in found.urgent:
            urgent.setdefault(category, "patterns")
        for category in found.check:
            check.setdefault(category, "patterns")

        classifier = self.classifier
        scores = classifier.scores(segments)
        factor = MEMORY_FACTOR if recent.active else 1.0
        t_check = classifier.thresholds.check * factor
        about_votes = []
        lowered_only: set[str] = set()  # categories the classifier saw only below its usual threshold
        level_seen: dict[str, float] = {}  # the level head's highest vote for each category seen
        # Per-sentence patterns are needed only to place a medical emergency beside (or away
        # from) a resolved cue; most messages have none, and skip the cost.
        resolvable_found = RESOLVABLE & (set(found.urgent) | set(found.check))
        for i, segment in enumerate(segments):
            # "fine now" after "my arm went numb yesterday" is still a stroke warning.
            resolved = any(p.search(segment) for p in self._resolved) and not any(
                p.search(segment) for p in self._recent
            )
            risk = float(scores.risk[i])
            category = CLASSES[1 + int(scores.classes[i, 1:].argmax())] if risk >= t_check else None
            seen = {category} if category else set()
            if resolvable_found and not resolved:
                seen |= self.patterns.finds_any(segment, frozenset(resolvable_found))
            if not resolved:
                resolved_only -= seen
            if category is None:
                continue
            about_votes.append(float(scores.other[i]))
            level_seen[category] = max(level_seen.get(category, 0.0), float(scores.urgent[i]))
            sure_it_is_now = scores.urgent[i] >= min(
                classifier.thresholds.urgent_level, self._urgent_level_for.get(category, 1.01)
            )
            # Memory lowers the bar for noticing, not for urgency: urgent at the usual thresholds only.
            if (risk >= classifier.thresholds.urgent and scores.urgent[i] >= 0.5) or (
                sure_it_is_now and risk >= classifier.thresholds.check
            ):
                chosen_level = urgent
            else:
                chosen_level = check
            chosen_level.setdefault(category, "classifier")
            # A second kind the classifier also sees ("took the whole box" after "so low"):
            # its routes too, so an overdose told as suicide still gets 999 and A&E.
            for j in np.flatnonzero(scores.classes[i, 1:] >= self._second_bar):
                also = CLASSES[1 + int(j)]
                if also != category and also not in RESOLVABLE:
                    chosen_level.setdefault(also, "classifier")
            if risk < classifier.thresholds.check:
                lowered_only.add(category)

        # Context (hazard H16): read with the message before, "tonight's the night" after "i've
        # been saving my tablets" (which may have been under the bar itself). It only raises,
        # at a higher bar than one message (two ordinary messages together can look like one
        # risky one), urgent only when the level head says so. Not after a recent signal
        # (memory's lower bars do this job, and the last signal must not echo into a yes, a no
        # or an acknowledgement), nor for talk about another person: a helper's "him" and
        # "her" over two messages reads as a report of risk (5 of 761 triage development
        # turns), and reports are caught well alone.
        # The trace this message leaves, read once here: the context layer joins it with the
        # last one. A long message is read whole by its sentences; its trace would cost a
        # second reading of all of it, and what a short next message completes is said in a
        # short one, so it leaves none (but is still read with the message before).
        trace = classifier.trace(whole) if len(whole) <= TRACE_CHARS else ()
        quiet = not urgent and not check and not recent.active
        if quiet and recent.previous and role not in ABOUT_OTHER_ROLES:
            joined = classifier.joined(recent.previous, trace or classifier.trace(whole))
            t = classifier.thresholds
            if joined is not None and joined.risk[0] >= t.check + CONTEXT_BAR * (t.urgent - t.check):
                category = CLASSES[1 + int(joined.classes[0, 1:].argmax())]
                if joined.urgent[0] >= 0.5:
                    urgent[category] = "context"
                else:
                    check[category] = "context"
                about_votes.append(float(joined.other[0]))
                if not any(p.search(whole) for p in self._resolved):
                    resolved_only.discard(category)

        # The one layer that lowers: a medical emergency seen only beside "last year",
        # "recovered", "no seizure in two years"...
        if not recent.active:
            for category in resolved_only:
                urgent.pop(category, None)
                check.pop(category, None)

        answer = self._check_answer(whole) if recent.pending_check else None
        if answer == "yes":
            for category in recent.categories or ("suicide_self_harm",):
                urgent.setdefault(category, "check_answer")
        # An overdose, a medical emergency or a child at risk gets the routes at once
        # (lexicon.yaml `urgent_on_any_sign`), unless the sign was denied, seen only because
        # memory lowered the bar, or (a medical one) told as not happening now.
        for category in self._urgent_on_any_sign & set(check):
            now = level_seen.get(category, 1.0) >= self._any_sign_level.get(category, 0.0)
            if check[category] == "classifier" and category not in lowered_only and now:
                urgent.setdefault(category, "classifier")
                del check[category]
        # After a signal, a new sign is read as urgent, but not one the classifier saw only
        # because memory lowered its threshold: that stays a check, so one false alarm
        # cannot snowball into urgent routes for every answer that follows.
        strong_check = {c: v for c, v in check.items() if not (v == "classifier" and c in lowered_only)}
        if recent.active and not urgent and not answer:
            if strong_check or any(p.search(whole) for p in self._continuation):
                for category in strong_check or dict.fromkeys(recent.categories or ("suicide_self_harm",)):
                    urgent.setdefault(category, "memory")
                check = {c: v for c, v in check.items() if c not in urgent}
        if recent.active and strong_check:
            for category, layer in strong_check.items():
                urgent.setdefault(category, layer)
            check = {c: v for c, v in check.items() if c not in urgent}

        # A risk told as long past and over ("I took an overdose in 2014, I'm well now"), with
        # nothing putting it in the present, gets the direct question with the routes beside
        # it, not the urgent list: still asked about, never ignored (hazard H13).
        if urgent and not recent.active and not answer:
            for category in self._told_as_past(whole, urgent):
                check.setdefault(category, "past")
                urgent.pop(category)

        # Right after the urgent routes, a message that neither carries risk nor acknowledges
        # them (a triage answer, "islington") gets them once more, not the next form question;
        # a check question that got neither yes nor no is asked once more ("its dark now"
        # after "when it gets dark" is not an answer, and may be the most urgent message).
        if not urgent and not check and not recent.last_repeated:
            carried = recent.categories or ("suicide_self_harm",)
            if recent.last_urgent and not any(p.search(whole) for p in self._acknowledged):
                urgent = dict.fromkeys(carried, "repeat")
            elif recent.pending_check and answer is None:
                check = dict.fromkeys(carried, "repeat")
        if urgent:
            level, chosen = "urgent", urgent
        elif check:
            level, chosen = "check", check
        else:
            return Assessment("none", (), check_answer=answer, trace=trace)
        about = self._about(whole, role, about_votes, chosen)
        # A child's suicidal thoughts, overdose or abuse: the child's routes (NSPCC, Childline,
        # children's services) as well. Added after `about`: a parent at risk who names their
        # children is still the one at risk.
        if CHILD_ROUTES_FOR & set(chosen) and "child_at_risk" not in chosen and _CHILD_NAMED.search(whole):
            chosen["child_at_risk"] = "child"
        categories = tuple(c for c in CATEGORIES if c in chosen)
        if about == "other" and "someone_else" not in categories:
            categories += ("someone_else",)
        return Assessment(level, categories, about, tuple(dict.fromkeys(chosen.values())), answer, trace)

    def _segments(self, text: str, whole: str) -> list[str]:
        """The whole message and each sentence (long ones in windows), normalised, idioms out."""
        pieces = [p for p in _SENTENCE_END.split(text) if p and p.strip()]
        # A short message is read whole too (context across its sentences); a long one by parts.
        segments = [text] if len(pieces) != 1 and len(text) <= WHOLE_MESSAGE_CHARS else []
        for piece in pieces:
            words = piece.split()
            if len(words) <= SEGMENT_WORDS:
                segments.append(piece)
            else:
                step = SEGMENT_WORDS // 2
                segments += [
                    " ".join(words[i : i + SEGMENT_WORDS]) for i in range(0, len(words) - step, step)
                ]
        if len(segments) > MAX_SEGMENTS:
            segments = segments[:1] + segments[1 : MAX_SEGMENTS // 2] + segments[-MAX_SEGMENTS // 2 :]
        # The message itself is normalised once already (`whole`): most messages are one sentence.
        return [
            whole if s == text else self.patterns.without_idioms(self.normaliser.normalise(s))
            for s in segments
        ]

    def _told_as_past(self, normal: str, urgent: dict[str, str]) -> list[str]:
        # "reviewed today", "currently well" put nothing about the risk in the present.
        for exception in self._present_exceptions:
            normal = exception.sub(" ", normal)
        if any(p.search(normal) for p in self._present):
            return []
        dated = any(p.search(normal) for p in self._dated_past)
        past = dated or any(p.search(normal) for p in self._past)
        return [c for c in urgent if (c in TOLD_AS_PAST and past) or (c in TOLD_AS_DATED_PAST and dated)]

    def _check_answer(self, normal: str) -> str | None:
        if any(p.search(normal) for p in self._no):
            return "no"
        if any(p.search(normal) for p in self._yes):
            return "yes"
        # "i am", "maybe", "not sure" answer the question only as a short reply: "i am already
        # doing cbt with talking therapies" is a statement, read on its own merits.
        if len(normal.split()) <= CHECK_ANSWER_WORDS and any(p.search(normal) for p in self._yes_short):
            return "yes"
        return None

    def _about(self, normal: str, role: str | None, votes: list[float], categories: dict) -> str:
        if role in ABOUT_OTHER_ROLES:
            return "other"
        if "child_at_risk" in categories:
            # A child at risk is written about by an adult, unless a young person says it is them.
            return "self" if _YOUNG_PERSON_ABOUT_SELF.search(normal) else "other"
        # Wrongly wording the routes for a reporter would fail the person at risk, so
        # "other" needs both the classifier and a word that names another person.
        if votes and max(votes) >= 0.6 and any(p.search(normal) for p in self._about_other):
            return "other"
        return "self"


def _knowledge(name: str) -> dict:
    path = load_settings().knowledge_dir / "safety" / name
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_normaliser() -> Normaliser:
    patterns, lexicon = _knowledge("risk_patterns.yaml"), _knowledge("lexicon.yaml")
    rewrite = {**patterns.get("rewrite", {}), **lexicon.get("text_speak", {})}
    return Normaliser(rewrite, lexicon.get("risk_words", []), lexicon.get("keep_as_is", []))


@lru_cache(maxsize=1)
def load_engine() -> RiskEngine:
    data, lexicon = _knowledge("risk_patterns.yaml"), _knowledge("lexicon.yaml")
    patterns = RiskPatterns(
        data.get("idioms", []), data["categories"], data.get("check", {}), lexicon.get("denials", [])
    )
    return RiskEngine(load_normaliser(), patterns, lexicon)


def assess(text: str, recent: RecentSignals | None = None, role: str | None = None) -> Assessment:
    return load_engine().assess(text, recent, role)
