"""A Rasa NLU component that adds the triage facts of chatbot.nlu.facts as entities.

Not trained: it reads knowledge/ when the model loads, so a new town or GP
surgery in knowledge/ is understood after a restart, with no retraining.
"""

from __future__ import annotations

import datetime as dt

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.config import load_settings

from .facts import FactFinder, load_fact_finder
from .rule_component import RuleComponent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class KnowledgeFactExtractor(RuleComponent, EntityExtractorMixin):
    def __init__(self, finder: FactFinder | None = None):
        self._finder = finder or load_fact_finder(load_settings().knowledge_dir)

    def process(self, messages: list[Message]) -> list[Message]:
        today = dt.date.today()
        for message in messages:
            text = message.get(TEXT) or ""
            facts = self._finder.find(text, today)
            entities = self.add_extractor_name(
                [{"entity": f.entity, "value": f.value, "start": f.start, "end": f.end} for f in facts]
            )
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
