"""An NLU component that runs the risk engine on every message, before any form or story.

It sits last in the pipeline and decides alone whether a message is a crisis:
- a message the engine rates `urgent` or `check`, or that answers the check
  question, becomes the `crisis` intent with `risk` attached (level, categories,
  about: never text), so rules answer it at once, in or out of a form;
- such a message never fills a slot: its entities are dropped (unless the message itself
  carries no sign: the check question asked again, or a plain "no" to it);
- the intent classifier's own `crisis` never stands: without the engine it is
  replaced by the next intent (ordinary requests such as "when will I be paid"
  were getting the full crisis reply).
The engine reads the message with the conversation's recent signals
(chatbot/safety/memory.py), from the tracker Rasa is parsing for
(chatbot/nlu/conversation_context.py, wired in when this component loads).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.nlu.conversation_context import current_tracker, give_nlu_the_conversation
from chatbot.nlu.facts_mean_inform import SITUATION_FACTS
from chatbot.nlu.rule_component import RuleComponent
from chatbot.safety import RecentSignals, load_engine
from chatbot.safety.memory import TRACE_KEY

HELD_KEY = "held_facts"  # in parse_data: a check-level message's triage facts, until its answer
# The triage facts that may wait for the check question's answer (never contact details).
HELD_ENTITIES = SITUATION_FACTS | {"user_role", "benefits", "circumstances"}


def held_facts(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Which fact and its value only (no words, no positions)."""
    return [
        {k: e[k] for k in ("entity", "value", "extractor") if k in e}
        for e in entities
        if e.get("entity") in HELD_ENTITIES
    ]


def facts_held_before(tracker: Any) -> list[dict[str, Any]]:
    """The facts held on the last user message (the one the check question was about)."""
    if tracker is None:
        return []
    for event in reversed(tracker.events):
        if getattr(event, "type_name", None) == "user":
            return list((event.parse_data or {}).get(HELD_KEY) or [])
    return []

CRISIS_INTENT = "crisis"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisIntentOverride(RuleComponent, IntentClassifier):
    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> CrisisIntentOverride:
        give_nlu_the_conversation()
        _ = load_engine().classifier  # load (or retrain) the classifier now, not on the first message
        return super().create(*args, **kwargs)

    def process(self, messages: list[Message]) -> list[Message]:
        tracker = current_tracker()
        recent = RecentSignals.from_tracker(tracker)
        role = tracker.get_slot("user_role") if tracker is not None else None
        engine = load_engine()
        for message in messages:
            assessment = engine.assess(message.get(TEXT) or "", recent, role)
            # Numbers only (classifier.trace), so the next message can be read with this one.
            message.set(TRACE_KEY, list(assessment.trace), add_to_output=True)
            if assessment.at_risk or assessment.cleared:
                # A message that carries no sign itself (the check question asked again, or a
                # plain "no" to it) still answers the form: "mansfield NG18" is kept. Right
                # after the urgent routes an answer waits, as the safety stories require.
                own_sign = assessment.at_risk and set(assessment.layers) - {"repeat"}
                waits = assessment.level == "urgent"
                if own_sign and assessment.level == "check":
                    # Held, not used: they answer the form only once the check question is
                    # answered "no" ("off sick 6 weeks with depression ... such a burden").
                    held = held_facts(message.get(ENTITIES) or [])
                    if held:
                        message.set(HELD_KEY, held, add_to_output=True)
                if assessment.cleared:
                    message.set(ENTITIES, [*(message.get(ENTITIES) or []), *facts_held_before(tracker)])
                self._mark_crisis(message, assessment.as_parse_data(), keep_facts=not (own_sign or waits))
            else:
                self._drop_a_classifier_only_crisis(message)
        return messages

    @staticmethod
    def _mark_crisis(message: Message, risk: dict[str, Any], keep_facts: bool = False) -> None:
        crisis = {"name": CRISIS_INTENT, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
        message.set(INTENT, crisis, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [crisis, *ranking], add_to_output=True)
        message.set("risk", risk, add_to_output=True)
        if not keep_facts:
            message.set(ENTITIES, [], add_to_output=True)  # a sign of risk never answers a form's question

    @staticmethod
    def _drop_a_classifier_only_crisis(message: Message) -> None:
        if (message.get(INTENT) or {}).get("name") != CRISIS_INTENT:
            return
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
        fallback = {"name": "nlu_fallback", "confidence": 1.0}
        message.set(INTENT, ranking[0] if ranking else fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
