"""The Rasa component of chatbot.nlu.facts_mean_inform (the rule and its words are there).

Kept apart so that importing the rule (the action server does) does not import Rasa.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.nlu.facts_mean_inform import (
    _ASKS_FOR_OUR_PEOPLE,
    INFORM,
    QUESTION_DOUBT,
    RULE_CONFIDENCE,
    SITUATION_FACTS,
    SMALL_TALK,
    asks_to_start_again,
    is_question,
    question_is_a_request_for_support,
)
from chatbot.nlu.rule_component import RuleComponent

START_AGAIN = "start_again"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FactsMeanInform(RuleComponent, IntentClassifier):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            name, confidence = intent.get("name"), intent.get("confidence") or 0.0
            if name == START_AGAIN and not asks_to_start_again(message.get(TEXT) or ""):
                self._not_a_restart(message)
                intent = message.get(INTENT) or {}
                name, confidence = intent.get("name"), intent.get("confidence") or 0.0
            facts = [e for e in message.get(ENTITIES) or [] if e.get("entity") in SITUATION_FACTS]
            text = message.get(TEXT) or ""
            if facts and is_question(text):
                if question_is_a_request_for_support(text, len({e["entity"] for e in facts}), confidence):
                    self._make_sure(message, INFORM, confidence)
                continue
            if not facts:
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
    def _not_a_restart(message: Message) -> None:
        """The next intent in the ranking instead (the facts rule below may still make it inform)."""
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != START_AGAIN]
        fallback = {"name": "nlu_fallback", "confidence": 1.0}
        message.set(INTENT, ranking[0] if ranking else fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

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
