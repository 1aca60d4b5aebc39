"""`python -m chatbot run` (what `make run` starts): serves, then stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from chatbot.config import PROJECT_ROOT
from chatbot.runner import free_port
from tests.chat import Conversation


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_run(var_dir) -> tuple[subprocess.Popen, str, int, int]:
    """`python -m chatbot run` on free ports, once it says it is ready: (process, output, ports)."""
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "CHATBOT_VAR_DIR": str(var_dir),
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
    }
    env.pop("ACTION_ENDPOINT_URL", None)
    env.pop("TELEGRAM_BOT_TOKEN", None)  # never start a bridge against the real Telegram
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "run"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = ""
    deadline = time.monotonic() + 180
    while "Press Ctrl-C" not in output and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            raise AssertionError(f"run exited early:\n{output}")
        output += line
    return proc, output, rasa_port, action_port


def stop_run(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        # SIGTERM lets run stop its servers (own sessions); kill alone would leak them.
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_run_serves_a_conversation_and_stops_both_servers_on_ctrl_c(tmp_path):
    proc, output, rasa_port, action_port = start_run(tmp_path)
    try:
        assert f"http://localhost:{rasa_port}/webhooks/web/" in output
        replies = Conversation(f"http://127.0.0.1:{rasa_port}").say("hello")
        assert "Who is this for?" in Conversation.texts(replies)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "stopped." in proc.stdout.read()
        assert not _port_open(rasa_port) and not _port_open(action_port)
    finally:
        stop_run(proc)


def test_run_restarts_a_crashed_action_server_and_the_conversation_goes_on(tmp_path):
    proc, output, rasa_port, action_port = start_run(tmp_path)
    try:
        chat = Conversation(f"http://127.0.0.1:{rasa_port}")
        assert "Who is this for?" in chat.texts(chat.say("hello"))
        found = subprocess.run(["pgrep", "-f", f"rasa_sdk.*{action_port}"], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split()]
        assert pids, "the action server's process was not found"
        for pid in pids:
            os.killpg(os.getpgid(pid), signal.SIGKILL)  # as a crash would: no clean-up
        while "started again" not in output:
            line = proc.stdout.readline()
            assert line, f"run exited instead of restarting:\n{output}"
            output += line
        deadline = time.monotonic() + 60
        while not _port_open(action_port):
            assert time.monotonic() < deadline, "the action server did not come back"
            time.sleep(0.25)
        assert "What is your work situation?" in chat.texts(chat.say("myself"))  # the same conversation
    finally:
        stop_run(proc)
