"""A Rasa NLU component that adds the triage facts of chatbot.nlu.facts as entities.

Not trained: it reads knowledge/ when the model loads, so a new town or GP
surgery in knowledge/ is understood after a restart, with no retraining.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.config import load_settings

from .facts import FactFinder, load_fact_finder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class KnowledgeFactExtractor(GraphComponent, EntityExtractorMixin):
    def __init__(self, finder: FactFinder):
        self._finder = finder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeFactExtractor:
        return cls(load_fact_finder(load_settings().knowledge_dir))

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
