"""A message that states triage facts and asks nothing is an answer (`inform`).

The intent classifier sees words, not facts: "N7", "notts" or "no sick note yet"
look like affirm/deny or a question to it. The fact extractor knows better, so
this component, placed after it, turns such messages into `inform`. It leaves
real questions alone ("can I get sick pay if I'm self-employed?").
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.nlu.rule_component import RuleComponent

INFORM = "inform"
# Intents a statement of facts is often mistaken for.
SMALL_TALK = {"affirm", "deny", "thank", "greet", "goodbye", "out_of_scope", "bot_challenge"}
# Facts that say something about the person's situation (a role word alone does not:
# "how do I use this with patients?").
SITUATION_FACTS = {"work_status", "weeks_off_sick", "has_fit_note", "condition_category", "area_id",
                   "gp_surgery_id", "age", "ready_to_work"}  # fmt: skip
# "Talk to someone who's been through it" is a wish for peer support, not for our staff.
_ASKS_FOR_OUR_PEOPLE = re.compile(
    r"\b(?:real|actual|proper|live) (?:person|human|people)|\bhuman\b|\bstaff\b|\badvis[oe]r\b|"
    r"\bnot a (?:bot|computer)|\bcall me\b|\bphone me\b|\bring me\b|\boperator\b",
    re.IGNORECASE,
)
# The classifier's confidence for a statement it took for a question, below which facts win.
QUESTION_DOUBT = 0.6
RULE_CONFIDENCE = 0.6
_QUESTION = re.compile(
    r"\?"
    r"|^\s*(?:what|whats|what's|wot|wat|how|hw|can|could|do|does|did|is|are|will|would|should|who|when|where|"
    r"why|which|am|if|any|tell me|explain)\b"
    # a question further on: "self employed, bad back, who pays me when i cant work"
    r"|\b(?:what|how|who|where|when|why)\s+"
    r"(?:do|does|can|could|should|will|would|is|are|am|about|pays|happens to|benefits|money|help)\b"
    r"|\b(?:can|could|should|will|do|am)\s+i\b|\bis there\b|\bare there\b|\bany (?:help|money|support)\b"
    r"|\b(?:wondering|want to know|need to know)\b",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text or ""))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FactsMeanInform(RuleComponent, IntentClassifier):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            name, confidence = intent.get("name"), intent.get("confidence") or 0.0
            facts = [e for e in message.get(ENTITIES) or [] if e.get("entity") in SITUATION_FACTS]
            if not facts or is_question(message.get(TEXT) or ""):
                continue
            if name in (INFORM, "correct"):
                # The classifier was right but unsure, or torn between inform and correct
                # (which the dialogue treats alike); the facts make it sure enough not to
                # fall back to "I did not understand". The ranking must agree, since the
                # fallback also checks how close the top two are.
                self._make_sure(message, name, confidence)
                continue
            looks_like_question = (name or "").startswith("ask_")
            if looks_like_question and len(facts) < 2 and confidence >= QUESTION_DOUBT:
                continue
            wants_peer_support = name == "request_human" and not _ASKS_FOR_OUR_PEOPLE.search(
                message.get(TEXT) or ""
            )
            if (
                name not in SMALL_TALK
                and not looks_like_question
                and not wants_peer_support
                and name is not None
            ):
                continue
            self._make_sure(message, INFORM, confidence)
        return messages

    @staticmethod
    def _make_sure(message: Message, name: str, confidence: float) -> None:
        chosen = {"name": name, "confidence": max(confidence, RULE_CONFIDENCE)}
        others = [
            {**r, "confidence": min(r.get("confidence") or 0.0, 1 - chosen["confidence"])}
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") != name
        ]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *others], add_to_output=True)
