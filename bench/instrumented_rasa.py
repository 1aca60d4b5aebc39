"""The Rasa server with wall-clock timers round its main steps: for bench/run.py's profile only.

    .venv/bin/python bench/instrumented_rasa.py run --model … (the arguments of `python -m chatbot.rasa_main`)

Runs `chatbot.rasa_main` unchanged, after wrapping a few Rasa methods in timers
(whole message, tracker store load and save, NLU parse, policy prediction, each
action, each HTTP call to the action server). Timers are per call, wall clock, and
meant for one conversation at a time (with several, waits for the others count too).

- SIGUSR2 writes the timers to $BENCH_TIMERS_OUT as JSON {label: [calls, seconds]} and resets them.
- SIGUSR1 starts cProfile; a second SIGUSR1 stops it and writes $BENCH_PROFILE_OUT.

Not used by the product.
"""

from __future__ import annotations

import cProfile
import functools
import inspect
import json
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIMERS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
_profile: cProfile.Profile | None = None


def _record(label: str, seconds: float) -> None:
    entry = TIMERS[label]
    entry[0] += 1
    entry[1] += seconds


def _timed(cls: type, method: str, label: str | Callable[..., str]) -> None:
    original = getattr(cls, method)

    def name_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return label(*args, **kwargs) if callable(label) else label

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                _record(name_of(args, kwargs), time.perf_counter() - start)

    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                _record(name_of(args, kwargs), time.perf_counter() - start)

    setattr(cls, method, wrapper)


def install_timers() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.utils.endpoints import EndpointConfig

    _timed(Agent, "handle_message", "message (Agent.handle_message, incl. lock)")
    _timed(MessageProcessor, "handle_message", "message (MessageProcessor.handle_message)")
    _timed(FailSafeTrackerStore, "retrieve", "tracker store: retrieve")
    _timed(FailSafeTrackerStore, "save", "tracker store: save")
    _timed(MessageProcessor, "fetch_tracker_and_update_session", "tracker fetch + session check")
    _timed(MessageProcessor, "parse_message", "NLU parse")
    _timed(MessageProcessor, "run_action_extract_slots", "action_extract_slots (incl. its remote call)")
    _timed(MessageProcessor, "_predict_next_with_tracker", "policies: predict next action")
    _timed(MessageProcessor, "_run_action", lambda _self, action, *_, **__: f"run action: {action.name()}")
    _timed(RemoteAction, "run", lambda action, *_, **__: f"remote action: {action.name()}")
    _timed(RemoteAction, "_action_call_format", "remote action: tracker to JSON for the request")
    _timed(EndpointConfig, "request", "remote action: HTTP round trip to the action server")
    _timed(RemoteAction, "_validate_action_result", "remote action: jsonschema check of the response")


def _write_json(path: str, data: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _dump_timers(_signum: int, _frame: Any) -> None:
    data = {label: list(entry) for label, entry in TIMERS.items()}
    TIMERS.clear()
    _write_json(os.environ["BENCH_TIMERS_OUT"], data)


def _toggle_profile(_signum: int, _frame: Any) -> None:
    global _profile
    if _profile is None:
        _profile = cProfile.Profile()
        _profile.enable()
        return
    _profile.disable()
    path = os.environ["BENCH_PROFILE_OUT"]
    _profile.dump_stats(path + ".tmp")
    os.replace(path + ".tmp", path)
    _profile = None


def main() -> None:
    # The product's start-up adjustments first, so the timers wrap what the product runs.
    from chatbot.rasa_speedups import check_action_responses_with_a_compiled_validator

    check_action_responses_with_a_compiled_validator()
    install_timers()
    signal.signal(signal.SIGUSR2, _dump_timers)
    signal.signal(signal.SIGUSR1, _toggle_profile)
    from chatbot.rasa_main import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
