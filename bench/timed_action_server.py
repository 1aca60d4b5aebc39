"""The action server (`rasa run actions`) with its own timing of each call: for bench/run.py only.

    .venv/bin/python bench/timed_action_server.py --actions actions --port 5055

Same app, same executor, same actions as `rasa run actions`; it also records, per
/webhook request, the action's name, the time the whole request took inside the
server (JSON in and out included) and the time the action's own code took.
GET /bench/timings returns them as [[kind, action, seconds], ...] and clears them.
Not used by the product.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the `actions` package

import rasa_sdk.endpoint as endpoint  # noqa: E402
from rasa_sdk.executor import ActionExecutor  # noqa: E402
from sanic import response  # noqa: E402

RECORDS: list[tuple[str, str, float]] = []
_create_app = endpoint.create_app
_executor_run = ActionExecutor.run


async def _timed_executor_run(self: ActionExecutor, action_call: dict[str, Any]) -> Any:
    start = time.perf_counter()
    try:
        return await _executor_run(self, action_call)
    finally:
        RECORDS.append(("action code", str(action_call.get("next_action")), time.perf_counter() - start))


def _timed_create_app(*args: Any, **kwargs: Any) -> Any:
    app = _create_app(*args, **kwargs)

    @app.middleware("request")
    async def _started(request: Any) -> None:
        request.ctx.bench_started = time.perf_counter()

    @app.middleware("response")
    async def _finished(request: Any, _response: Any) -> None:
        if request.path != "/webhook":
            return
        try:
            name = str((request.json or {}).get("next_action"))
        except Exception:  # a compressed body: the action code record still has the name
            name = "?"
        RECORDS.append(("whole request", name, time.perf_counter() - request.ctx.bench_started))

    @app.get("/bench/timings")
    async def _timings(_request: Any) -> Any:
        out = list(RECORDS)
        RECORDS.clear()
        return response.json(out)

    return app


def main() -> None:
    endpoint.create_app = _timed_create_app
    ActionExecutor.run = _timed_executor_run
    from rasa_sdk.__main__ import main as sdk_main

    sdk_main()


if __name__ == "__main__":
    main()
