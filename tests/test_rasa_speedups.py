"""Rasa's start-up speed adjustments (chatbot/rasa_speedups.py): Rasa's own answers, for less CPU."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from chatbot.rasa_speedups import check_action_responses_with_a_compiled_validator


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    check_action_responses_with_a_compiled_validator()
    return RemoteAction("action_anything", EndpointConfig("http://127.0.0.1:1/webhook"))


def rasas_own_check():  # noqa: ANN201
    return RemoteAction._validate_action_result.rasas_own_check


VALID = {
    "events": [{"event": "slot", "name": "area_id", "value": "islington", "timestamp": None}],
    "responses": [{"text": "Thanks.", "buttons": [], "custom": {}}],
}
MALFORMED = [
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [{"event": 3}], "responses": []},
    {"events": [{"event": "slot", "name": "area_id"}], "responses": []},  # a slot event without a value
    {"events": [{"event": "nonsense"}], "responses": []},  # no such kind of event
    {"events": [{"event": "user", "text": 5}], "responses": []},  # right kind, wrong field type
]


def test_a_valid_response_passes_without_rasas_per_call_schema_check(action, monkeypatch):
    def slow_path(*_args, **_kwargs):  # noqa: ANN202
        raise AssertionError("jsonschema.validate re-checks the schema on every call")

    monkeypatch.setattr(jsonschema, "validate", slow_path)
    assert action._validate_action_result(VALID) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_a_malformed_response_raises_rasas_own_error_and_message(action, response):
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(response)
    with pytest.raises(jsonschema.ValidationError) as rasas:
        rasas_own_check()(action, response)
    assert str(ours.value) == str(rasas.value)
    assert "Failed to validate Action server response from API" in ours.value.message


def test_applying_it_twice_keeps_one_layer():
    first = RemoteAction._validate_action_result
    check_action_responses_with_a_compiled_validator()
    assert RemoteAction._validate_action_result is first


# Every kind of event Rasa's schema knows: the compiled check picks the kind by this name.
EVENT_KINDS = [
    kind["properties"]["event"]["const"]
    for kind in RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "events": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "event": st.sampled_from([*EVENT_KINDS, "nonsense", "", 1, None]),
                    "name": json_values | st.text(max_size=5),
                    "value": json_values,
                    "timestamp": st.none() | st.floats(allow_nan=False) | json_values,
                    "metadata": st.none() | st.dictionaries(st.text(max_size=3), json_values, max_size=2),
                    "text": st.none() | st.text(max_size=5) | json_values,
                    "entities": st.lists(
                        st.dictionaries(st.sampled_from(["start", "end", "entity"]), json_values)
                    ),
                },
            ),
            max_size=3,
        )
        | json_values,
        "responses": st.lists(st.dictionaries(st.sampled_from(["text", "buttons", "custom"]), json_values))
        | json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(response=responses)
def test_the_compiled_check_accepts_exactly_what_rasas_accepts(action, response):
    def verdict(check) -> bool:  # noqa: ANN001
        try:
            return check(action, response) is True
        except jsonschema.ValidationError:
            return False

    assert verdict(RemoteAction._validate_action_result) == verdict(rasas_own_check())


def test_the_action_server_imports_neither_rasa_nor_spacy_nor_tensorflow():
    """The actions use small text helpers from chatbot.nlu; Rasa and spaCy would add 500 MB per process."""
    import subprocess
    import sys

    from chatbot.config import PROJECT_ROOT
    from chatbot.runner import action_server_command

    assert action_server_command(5055)[:5] == [
        sys.executable,
        "-m",
        "chatbot.json_logs",
        "rasa_sdk",
        "--actions",
    ]
    probe = (
        "import sys, rasa_sdk.endpoint as e; e.ActionExecutor().register_package('actions'); "
        "print(sorted(m for m in ('rasa', 'spacy', 'tensorflow', 'thinc') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_event_classes_are_found_as_rasa_finds_them():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    from chatbot.rasa_speedups import remember_event_classes

    remember_event_classes()
    rasas_lookup = Event.resolve_by_type.rasas_lookup
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is rasas_lookup(cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is rasas_lookup(cls.type_name)  # again, remembered
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    assert Event.resolve_by_type("topic") is None


def test_action_calls_reuse_one_connection():
    """Three calls to an endpoint, as Rasa makes per message: one TCP connection, not three."""
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    from chatbot.rasa_speedups import reuse_connections_to_endpoints

    reuse_connections_to_endpoints()
    connections = []

    async def handle(reader, writer) -> None:  # noqa: ANN001 (a minimal HTTP/1.1 keep-alive server)
        connections.append(writer.get_extra_info("peername"))
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    async def scenario() -> list:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(method="get") for _ in range(3)]
        server.close()
        return answers

    assert asyncio.run(scenario()) == [{}, {}, {}]
    assert len(connections) == 1


# --- action_validate_slot_mappings only when a slot was just set ---

VALIDATION_DOMAIN = """
version: "3.1"
intents: [inform]
slots:
  area_id:
    type: text
    mappings:
      - type: from_entity
        entity: area
entities: [area]
actions: [action_validate_slot_mappings]
"""


def run_slot_validation(extracted: list, last_event) -> tuple[list, int]:  # noqa: ANN001
    """Rasa's ActionExtractSlots validation step against a stub action server: (events, calls made)."""
    import asyncio

    from aiohttp import web
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from chatbot.rasa_speedups import skip_slot_validation_with_nothing_to_check

    skip_slot_validation_with_nothing_to_check()
    domain = Domain.from_yaml(VALIDATION_DOMAIN)
    calls = []

    async def validate(request: web.Request) -> web.Response:
        calls.append(await request.json())
        return web.json_response(
            {"events": [{"event": "slot", "name": "area_id", "value": "checked"}], "responses": []}
        )

    async def scenario() -> list:
        app = web.Application()
        app.router.add_post("/webhook", validate)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            tracker = DialogueStateTracker.from_events(
                "validation", [ActionExecuted("action_listen"), UserUttered("hi"), *last_event], domain.slots
            )
            action = ActionExtractSlots(EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
            nlg = TemplatedNaturalLanguageGenerator(domain.responses)
            return await action._execute_validation_action(
                extracted, CollectingOutputChannel(), nlg, tracker, domain
            )
        finally:
            await runner.cleanup()

    return asyncio.run(scenario()), len(calls)


def test_no_slot_validation_call_when_the_message_set_no_slot():
    events, calls = run_slot_validation([], [])
    assert (events, calls) == ([], 0)


def test_a_slot_set_by_the_message_is_still_validated_by_the_action_server():
    from rasa.shared.core.events import SlotSet

    events, calls = run_slot_validation([SlotSet("area_id", "islington")], [])
    assert calls == 1
    assert events == [SlotSet("area_id", "checked")]


def test_a_slot_set_just_before_is_still_validated():
    """rasa_sdk checks the SlotSet events at the end of the conversation: Rasa's call is kept for them."""
    from rasa.shared.core.events import SlotSet

    events, calls = run_slot_validation([], [SlotSet("area_id", "islington")])
    assert calls == 1
    assert events == [SlotSet("area_id", "checked")]


def test_our_slot_validation_extracts_nothing_so_skipping_it_changes_nothing():
    """The skip is exact only while action_validate_slot_mappings has no extract_<slot> methods."""
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.triage_form import ValidateSlotsOutsideForms

    assert not [name for name in dir(ValidateSlotsOutsideForms) if name.startswith("extract_")]
    domain = Domain.load("domain.yml").as_dict()
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "hello", "parse_data": {"intent": {"name": "greet"}, "entities": []}},
    ]
    tracker = Tracker("t", {}, {"intent": {"name": "greet"}, "entities": []}, events, False, None, {}, "")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ValidateSlotsOutsideForms().run(dispatcher, tracker, domain)) == []
    assert dispatcher.messages == []


# --- the model graph without dask ---

MODEL = Path(__file__).resolve().parent.parent / "models" / "assistant.tar.gz"
SAMPLE_MESSAGES = [
    "hi",
    "I'm a GP receptionist asking for a patient",
    "off sick for 6 weeks with stress",
    "I live in Islington",
    "I want to end my life",
    "what is a fit note?",
    '/inform{"gp_surgery_id":"amwell-group-practice"}',
    "",
    "🙂🙂🙂",
    "<script>alert(1)</script>'; DROP TABLE events; --",
]


@pytest.fixture(scope="module")
def agent():  # noqa: ANN201
    from rasa.core.agent import Agent

    from chatbot.rasa_speedups import classify_intents_without_copying, run_model_graphs_in_a_fixed_order

    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test trains first)")
    run_model_graphs_in_a_fixed_order()
    classify_intents_without_copying()
    return Agent.load(str(MODEL))


def with_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.engine.runner.dask import DaskGraphRunner

    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run.dasks_run)


def test_understanding_is_the_same_without_dask(agent, monkeypatch):
    import asyncio

    ours = [asyncio.run(agent.parse_message(text)) for text in SAMPLE_MESSAGES]
    with_dask(monkeypatch)
    dasks = [asyncio.run(agent.parse_message(text)) for text in SAMPLE_MESSAGES]
    assert ours == dasks
    assert ours[4]["intent"]["name"] == "crisis"  # the graph really ran the whole pipeline


def test_next_action_predictions_are_the_same_without_dask(agent, monkeypatch):
    import asyncio

    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    def predictions() -> list[tuple]:
        results = []
        for text in SAMPLE_MESSAGES:
            parsed = asyncio.run(agent.parse_message(text))
            user = UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed)
            tracker = DialogueStateTracker.from_events(
                "graph", [ActionExecuted("action_listen"), user], agent.domain.slots
            )
            prediction = agent.processor._predict_next_with_tracker(tracker)
            results.append(
                (prediction.policy_name, prediction.max_confidence_index, prediction.probabilities)
            )
        return results

    ours = predictions()
    with_dask(monkeypatch)
    assert ours == predictions()
    assert {policy for policy, _, _ in ours} != {None}


def test_a_failing_node_raises_what_rasa_raises(agent, monkeypatch):
    from rasa.engine.exceptions import GraphComponentException

    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    with pytest.raises(GraphComponentException) as ours:
        runner.run(inputs={"__message__": "not a list of messages"}, targets=[target])
    with_dask(monkeypatch)
    with pytest.raises(GraphComponentException) as dasks:
        runner.run(inputs={"__message__": "not a list of messages"}, targets=[target])
    assert str(ours.value) == str(dasks.value)


def test_action_calls_are_encoded_exactly_as_json_dumps_does():
    import json

    from rasa.shared.core.domain import Domain

    from chatbot.rasa_speedups import json_with_the_domain_encoded_once

    domain = Domain.load("domain.yml").as_dict()
    body = {
        "next_action": "action_x",
        "sender_id": "s",
        "tracker": {"events": [{"event": "user", "text": "é"}]},
    }
    for call in ({**body, "version": "3.6.21", "domain": domain}, {"domain": domain}, body, [1, 2]):
        assert json_with_the_domain_encoded_once(call) == json.dumps(call)
    assert json_with_the_domain_encoded_once({"domain": domain}) == json.dumps(
        {"domain": domain}
    )  # from the cache
    other = {**domain, "intents": ["only_this"]}  # a newly loaded model's domain
    assert json_with_the_domain_encoded_once({**body, "domain": other}) == json.dumps(
        {**body, "domain": other}
    )


def intent_classifier(agent):  # noqa: ANN001, ANN201
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    return next(n._component for n in nodes if isinstance(n._component, LogisticRegressionClassifier))


def test_intents_and_confidences_are_exactly_rasas(agent, monkeypatch):
    """Every held-out message: the same intent ranking, to the last bit, with and without the change."""
    import asyncio

    import numpy as np
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [e.get("text") for e in load_data("tests/nlu/holdout.yml").intent_examples] + SAMPLE_MESSAGES
    classifier = intent_classifier(agent)
    assert classifier.clf.coef_.T.flags["C_CONTIGUOUS"]  # so sklearn's product copies nothing

    ours = [asyncio.run(agent.parse_message(text)) for text in texts]
    monkeypatch.setattr(classifier.clf, "coef_", np.ascontiguousarray(classifier.clf.coef_))
    monkeypatch.setattr(
        LogisticRegressionClassifier, "_create_X", LogisticRegressionClassifier._create_X.rasas_own
    )
    rasas = [asyncio.run(agent.parse_message(text)) for text in texts]

    assert len(texts) > 100
    assert [parse["intent_ranking"] for parse in ours] == [parse["intent_ranking"] for parse in rasas]


def test_all_of_them_apply_in_one_call_and_twice_changes_nothing():
    import gc

    from rasa.core.actions.action import RemoteAction
    from rasa.engine.runner.dask import DaskGraphRunner

    from chatbot.rasa_speedups import GC_THRESHOLDS, apply_speedups

    defaults = gc.get_threshold()
    try:
        apply_speedups()
        layers = (RemoteAction._validate_action_result, DaskGraphRunner.run)
        apply_speedups()
        assert (RemoteAction._validate_action_result, DaskGraphRunner.run) == layers
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*defaults)
