"""Start-up adjustments that make Rasa 3.6 faster without changing what it does.

Each one replaces a Rasa (or library) function with one that gives the same
result for less CPU; each is measured (docs/benchmarks.md) and tested to give
Rasa's own answers (tests/test_rasa_speedups.py). They are written for the Rasa
version in requirements/lock.txt: re-measure and re-test them on an upgrade.

- Rasa checks every action server response with `jsonschema.validate`, which
  first checks the constant schema against the JSON Schema meta-schema, about
  30 ms of CPU per call and most of a message's time. We check responses with
  a validator compiled once, which checks each event against the one kind it
  names; a response it rejects goes to Rasa's own check, so errors are exactly
  Rasa's.
- Rasa opens a new HTTP session, so a new connection, for each of the 2-3
  action calls of a message. We keep one session per endpoint and event loop,
  and it encodes the domain (the same for every call) once, not per call.
- Rasa finds each stored event's class by walking every Event subclass, for
  every event of the conversation it reads (over a thousand walks per message).
  We remember the class found for each event name.
- Rasa calls `action_validate_slot_mappings` after every message, even when the
  message filled no slot: a round trip carrying the whole conversation, to get
  nothing back. We skip the call when there is nothing for it to check.
- Rasa runs its model graph (NLU, then policies: 3-4 runs a message) through
  dask's scheduler, and works out which nodes a run needs each time; that
  bookkeeping took a tenth of the server's time. We work out the order once per
  kind of run and call the same nodes in it.
- The intent classifier copied its 3 MB of weights and rebuilt its one-row
  feature matrix through scipy's general `hstack` for every message.
- Python's collector, at its defaults, ran a young collection every 700 net
  allocations (a message makes tens of thousands) and now and then a full one
  over the half a million objects Rasa and the model keep (208 ms): the slowest
  replies were those. We let it collect less often.
"""

from __future__ import annotations

from typing import Any


def apply_speedups() -> None:
    """All of them; applying them twice changes nothing."""
    check_action_responses_with_a_compiled_validator()
    reuse_connections_to_endpoints()
    remember_event_classes()
    skip_slot_validation_with_nothing_to_check()
    run_model_graphs_in_a_fixed_order()
    classify_intents_without_copying()
    collect_garbage_less_often()


def check_action_responses_with_a_compiled_validator() -> None:
    from rasa.core.actions.action import RemoteAction

    if hasattr(RemoteAction._validate_action_result, "rasas_own_check"):
        return  # already applied (tests, or the bench's instrumented server)
    is_valid = compiled_response_check(RemoteAction.action_response_format_spec())
    rasas_own_check = RemoteAction._validate_action_result

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if is_valid(result):
            return True
        # Rare, and then Rasa's own check raises its own error with its own message.
        return rasas_own_check(self, result)

    _validate_action_result.rasas_own_check = rasas_own_check  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


def compiled_response_check(schema: dict[str, Any]) -> Any:
    """A function giving the verdict of `jsonschema.validate(response, schema)`, checked once, fast.

    Rasa's schema says each event is `oneOf` 23 kinds, each told apart by a
    constant `event` name, so every event was checked against all 23 (most of
    the check's time). An event can only match the kind it names, so we check
    it against that one: the same verdict, since `oneOf` holds exactly when the
    named kind's schema does. If the schema ever stops being of that shape, we
    check the whole schema as it is.
    """
    import copy

    from jsonschema.validators import validator_for

    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, not per response
    whole = validator_class(schema).is_valid
    items = schema.get("properties", {}).get("events", {}).get("items", {})
    kinds = items.get("oneOf") or []
    names = [kind.get("properties", {}).get("event", {}).get("const") for kind in kinds]
    if not kinds or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        return whole
    outer = copy.deepcopy(schema)
    del outer["properties"]["events"]["items"]["oneOf"]
    outer_is_valid = validator_class(outer).is_valid
    kind_is_valid = {name: validator_class(kind).is_valid for name, kind in zip(names, kinds, strict=True)}

    def is_valid(response: Any) -> bool:
        if not outer_is_valid(response):
            return False
        # The outer check has made sure each event is an object with a string `event`.
        for event in response.get("events") or ():
            check = kind_is_valid.get(event["event"])
            if check is None or not check(event):
                return False
        return True

    return is_valid


# Below the action server's (Sanic: 5 s) and nginx's keep-alive, so the client always
# drops an idle connection first and never sends on one the server is closing.
IDLE_CONNECTION_SECONDS = 2.0


_encoded_domain: list[tuple[Any, str]] = []  # (the domain dict Rasa sends, its JSON): the latest one


def json_with_the_domain_encoded_once(body: Any) -> str:
    """`json.dumps(body)`, byte for byte, reusing the domain's JSON from the last call.

    Rasa puts the domain last in each action call, as the very dict its Domain
    holds (`Domain.as_dict()` returns it, and Rasa never changes it after loading);
    it is a third of the request and the same every time. A newly loaded model
    brings a new dict, which is encoded afresh.
    """
    import json

    domain = body.get("domain") if isinstance(body, dict) else None
    if not isinstance(domain, dict) or next(reversed(body)) != "domain":
        return json.dumps(body)
    if not _encoded_domain or _encoded_domain[0][0] is not domain:
        _encoded_domain[:] = [(domain, json.dumps(domain))]
    rest = json.dumps({key: value for key, value in body.items() if key != "domain"})
    separator = ", " if len(body) > 1 else ""
    return f'{rest[:-1]}{separator}"domain": {_encoded_domain[0][1]}}}'


class _KeptOpen:
    """`async with` round a session that must stay open for the next request."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        return None


def reuse_connections_to_endpoints() -> None:
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.session, "kept_open", False):
        return

    def session(self: EndpointConfig) -> _KeptOpen:
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kept_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = aiohttp.BasicAuth(**self.basic_auth) if self.basic_auth else None
            # What Rasa's EndpointConfig.session makes, with a connector that keeps connections.
            client = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
                json_serialize=json_with_the_domain_encoded_once,
            )
            kept = (loop, client)
            self.__dict__["_kept_session"] = kept
        return _KeptOpen(kept[1])

    session.kept_open = True  # type: ignore[attr-defined]
    EndpointConfig.session = session


def remember_event_classes() -> None:
    from rasa.shared.core.events import Event

    rasas_lookup = Event.resolve_by_type
    if hasattr(rasas_lookup, "rasas_lookup"):
        return
    found: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = found.get(type_name)
        if cls is None:
            # Only classes found are kept: unknown names keep Rasa's own answer (default or error).
            cls = rasas_lookup(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.rasas_lookup = rasas_lookup  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)


def skip_slot_validation_with_nothing_to_check() -> None:
    """No `action_validate_slot_mappings` call when no slot was just set.

    rasa_sdk's ValidationAction checks `tracker.slots_to_validate()`: the SlotSet
    events at the very end of the conversation it is sent. With no slot extracted
    and no SlotSet at the end, that is empty and the action returns no events, so
    Rasa's call could only add a round trip. This holds while our validation action
    extracts no custom slots itself (no `extract_<slot>` methods; a test checks).
    """
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.shared.core.events import SlotSet

    rasas_own = ActionExtractSlots._execute_validation_action
    if hasattr(rasas_own, "rasas_own"):
        return

    async def _execute_validation_action(
        self: ActionExtractSlots,
        extraction_events: list,
        output_channel: Any,
        nlg: Any,
        tracker: Any,
        domain: Any,
    ) -> list:
        latest = tracker.events[-1] if tracker.events else None
        if not any(isinstance(event, SlotSet) for event in extraction_events) and not isinstance(
            latest, SlotSet
        ):
            return []
        return await rasas_own(self, extraction_events, output_channel, nlg, tracker, domain)

    _execute_validation_action.rasas_own = rasas_own  # type: ignore[attr-defined]
    ActionExtractSlots._execute_validation_action = _execute_validation_action


def run_model_graphs_in_a_fixed_order() -> None:
    """DaskGraphRunner.run without dask: the same nodes, called in an order worked out once.

    Rasa's graph is a DAG of GraphNode callables; `dask.get` calls each node with
    the outputs of the nodes it needs, where an input given to `run` replaces the
    node of that name. We do the same: for each (targets, inputs) the first run
    works out the nodes the targets need (Rasa's own `minimal_graph_schema`), in
    an order where every node comes after what it needs, and later runs reuse it.
    """
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    dasks_run = DaskGraphRunner.run
    if hasattr(dasks_run, "dasks_run"):
        return

    def plan(self: DaskGraphRunner, targets: tuple[str, ...], given: frozenset[str]) -> tuple[dict, list]:
        """(the run's graph keys, its nodes in order): worked out on the first run of its kind."""
        plans = self.__dict__.setdefault("_run_plans", {})
        key = (targets, given)
        if key not in plans:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            ordered: list[tuple[str, Any, tuple[str, ...]]] = []
            placed: set[str] = set(given)

            def place(name: str) -> None:
                if name in placed or name not in nodes:
                    return  # an input, already placed, or (as in dask) a plain string argument
                placed.add(name)
                needs = tuple(nodes[name].needs.values())
                for need in needs:
                    place(need)
                ordered.append((name, self._instantiated_nodes[name], needs))

            for target in targets:
                place(target)
            plans[key] = (dict.fromkeys(nodes), ordered)
        return plans[key]

    def run(
        self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        inputs = inputs or {}
        graph_keys, ordered = plan(self, run_targets, frozenset(inputs))
        self._add_inputs_to_graph(inputs, dict(graph_keys))  # Rasa's check of the inputs' names
        outputs: dict[str, Any] = {name: (name, value) for name, value in inputs.items()}
        try:
            for name, node, needs in ordered:
                outputs[name] = node(*(outputs.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)

    run.dasks_run = dasks_run  # type: ignore[attr-defined]
    DaskGraphRunner.run = run


def classify_intents_without_copying() -> None:
    """The intent classifier's two copies per message, gone; same numbers out.

    - Its weights (intents x features, about 3 MB here) were copied on every
      message, because sklearn multiplies by their transpose and scipy needs that
      in C order: we keep them in the order that makes the transpose C order.
    - Its features went through scipy's general-purpose `hstack`/`vstack` (via
      COO) even for one message with no dense features: then the message's own
      sparse features are already the matrix, in the dtype `hstack` would give.
    """
    import numpy as np
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import TEXT
    from scipy.sparse import csr_matrix

    rasas_create_x = LogisticRegressionClassifier._create_X
    if hasattr(rasas_create_x, "rasas_own"):
        return
    rasas_load = LogisticRegressionClassifier.load.__func__

    def _create_X(self: LogisticRegressionClassifier, messages: list) -> csr_matrix:
        if len(messages) == 1:
            sparse = messages[0].get_sparse_features(attribute=TEXT)[1]
            dense = messages[0].get_dense_features(attribute=TEXT)[1]
            if sparse is not None and dense is None:
                features = sparse.features
                # hstack with Rasa's empty dense block would give the common dtype with float64.
                return csr_matrix(features, dtype=np.result_type(features.dtype, np.float64))
        return rasas_create_x(self, messages)

    def load(cls: type, *args: Any, **kwargs: Any) -> LogisticRegressionClassifier:
        component = rasas_load(cls, *args, **kwargs)
        clf = getattr(component, "clf", None)
        if getattr(clf, "coef_", None) is not None:
            clf.coef_ = np.asfortranarray(clf.coef_)
        return component

    _create_X.rasas_own = rasas_create_x  # type: ignore[attr-defined]
    LogisticRegressionClassifier._create_X = _create_X
    LogisticRegressionClassifier.load = classmethod(load)


# Python's defaults are (700, 10, 10). A message allocates tens of thousands of objects, most
# of them freed by the end of it; collecting every 50,000 lets them die young, uncollected.
GC_THRESHOLDS = (50_000, 20, 100)


def collect_garbage_less_often() -> None:
    """Fewer collections; the same objects freed. At most tens of MB more between collections.

    Measured at 10 concurrent conversations (embedded default, two runs each): 111 and
    115 messages/s with p99 294 and 321 ms at Python's defaults; 115-122 messages/s with
    p99 145-171 ms with these. Freezing start-up's objects as well (`gc.freeze()`) added
    nothing measurable.
    """
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
