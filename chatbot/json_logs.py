"""JSON log lines for log shipping, when LOG_FORMAT=json: one object per line, no message text.

    python -m chatbot.json_logs MODULE [ARGS...]     # run `python -m MODULE ARGS...` with JSON logs

chatbot/runner.py starts the action server (`rasa_sdk`) and the worker (`chatbot worker`)
this way; chatbot/rasa_main.py calls use_json_logs() itself. With LOG_FORMAT unset (or
anything but "json") nothing changes: the module is run as it would be.

Each line: {"time", "level", "logger", "source", "event"}, plus the fields of Rasa's own
structured events (already masked by chatbot/rasa_main.py), and for an error the exception's
type and a traceback without local variables. Our code logs ids and counts only; the log
format adds nothing about people: no request bodies, no client addresses.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import runpy
import sys
from typing import Any

LOG_FORMAT_ENV = "LOG_FORMAT"
# Which process wrote the line (rasa, actions, worker); set by whoever starts it.
LOG_SOURCE_ENV = "LOG_SOURCE"


def json_logs_wanted(env: dict[str, str] | os._Environ = os.environ) -> bool:
    return env.get(LOG_FORMAT_ENV, "").strip().lower() == "json"


class JsonLines(logging.Formatter):
    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "source": self.source,
        }
        structured = _structlog_event(record)
        if structured is not None:  # Rasa's structlog events arrive already rendered as JSON
            structured.pop("log_level", None)
            line.update(structured)
        else:
            line["event"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)  # frames only, no locals
        return json.dumps(line, default=str, ensure_ascii=False)


def _structlog_event(record: logging.LogRecord) -> dict[str, Any] | None:
    if not isinstance(record.msg, str) or record.args or not record.msg.startswith("{"):
        return None
    try:
        value = json.loads(record.msg)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def use_json_logs(source: str | None = None, level: int = logging.INFO) -> None:
    """Every log record of this process as a JSON line on stderr, from now on."""
    source = source or os.environ.get(LOG_SOURCE_ENV) or os.path.basename(sys.argv[0])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(source))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings become log records too, not bare text
    _keep_coloredlogs_away(handler)


def _keep_coloredlogs_away(ours: logging.Handler) -> None:
    """Rasa and rasa_sdk call coloredlogs.install() at start, which would add a text handler."""
    try:
        import coloredlogs
    except ImportError:
        return

    def install(level: Any = None, **_: Any) -> None:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler is not ours:
                root.removeHandler(handler)
        if level is not None:
            root.setLevel(coloredlogs.level_to_number(level))

    coloredlogs.install = install


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m chatbot.json_logs MODULE [ARGS...]")
    module = sys.argv[1]
    if json_logs_wanted():
        use_json_logs()
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
