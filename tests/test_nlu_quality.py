"""The trained model meets the project's NLU bars on the first held-out set.

`make nlu-eval` prints the full picture (5-fold cross-validation and every
held-out set); this test keeps `make test` from passing when a change to the
training data or the pipeline makes understanding worse.
"""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import f1_score

from chatbot.config import PROJECT_ROOT

HELD_OUT = PROJECT_ROOT / "tests" / "nlu" / "holdout.yml"
MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
INTENT_BAR = 0.95
ENTITY_BAR = 0.90


@pytest.fixture(scope="module")
def predictions():
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test trains first)")
    agent = Agent.load(str(MODEL))
    examples = load_data(str(HELD_OUT)).intent_examples

    async def parse_all():
        return [await agent.parse_message(example.get("text")) for example in examples]

    return examples, asyncio.run(parse_all())


def test_intents_meet_the_bar_on_the_held_out_set(predictions):
    examples, parsed = predictions
    truth = [e.get("intent") for e in examples]
    guessed = [p["intent"]["name"] for p in parsed]
    assert f1_score(truth, guessed, average="weighted") >= INTENT_BAR


def test_entities_meet_the_bar_on_the_held_out_set(predictions):
    examples, parsed = predictions
    found = expected = both = 0
    for example, result in zip(examples, parsed, strict=True):
        gold = {(e["entity"], e["start"], e["end"]) for e in example.get("entities") or []}
        got = {(e["entity"], e["start"], e["end"]) for e in result["entities"]}
        expected, found, both = expected + len(gold), found + len(got), both + len(gold & got)
    precision, recall = both / found, both / expected
    assert 2 * precision * recall / (precision + recall) >= ENTITY_BAR
