"""An NLU component that runs the safety check on every message.

It sits last in the pipeline and overrides whatever the classifier said with
the `crisis` intent when chatbot.safety sees risk, so rules answer it at once,
in or out of a form, whatever the classifier's confidence.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.nlu.rule_component import RuleComponent
from chatbot.safety import assess_risk

CRISIS_INTENT = "crisis"
# The classifier alone (no risk pattern matched) must be at least this sure of a
# crisis; below it, "me myself" would get the urgent-help answer.
CLASSIFIER_CRISIS_CONFIDENCE = 0.5


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisIntentOverride(RuleComponent, IntentClassifier):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            assessment = assess_risk(message.get(TEXT) or "")
            if not assessment.at_risk:
                self._doubt_a_weak_classifier_crisis(message)
                continue
            crisis = {"name": CRISIS_INTENT, "confidence": 1.0}
            message.set(INTENT, crisis, add_to_output=True)
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
            message.set(INTENT_RANKING_KEY, [crisis, *ranking], add_to_output=True)
            # Categories only (never the text): the action picks the right help routes.
            message.set("risk", {"categories": list(assessment.categories)}, add_to_output=True)
            # A crisis message never answers a form's question: no facts are taken from it.
            message.set(ENTITIES, [], add_to_output=True)
        return messages

    @staticmethod
    def _doubt_a_weak_classifier_crisis(message: Message) -> None:
        intent = message.get(INTENT) or {}
        if (
            intent.get("name") != CRISIS_INTENT
            or (intent.get("confidence") or 0) >= CLASSIFIER_CRISIS_CONFIDENCE
        ):
            return
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != CRISIS_INTENT]
        if ranking:
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
