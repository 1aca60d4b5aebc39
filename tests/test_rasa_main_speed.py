"""The compiled check of action server responses (chatbot/rasa_main.py): as strict as Rasa's, and fast."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from chatbot.rasa_main import check_action_responses_with_a_compiled_validator


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
                optional={"event": st.sampled_from(["slot", "action", 1, None]), "name": json_values},
            ),
            max_size=3,
        )
        | json_values,
        "responses": st.lists(st.dictionaries(st.sampled_from(["text", "buttons", "custom"]), json_values))
        | json_values,
    },
)


@settings(max_examples=150, deadline=None)
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

    from chatbot.rasa_main import remember_event_classes

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

    from chatbot.rasa_main import reuse_connections_to_endpoints

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
