"""The production profile with real processes: 2 Rasa servers, 2 action servers, the worker,
nginx, a private PostgreSQL and a private Redis, started by `production up --detach`.

The tests run in this order and share the stack: a conversation spread over both Rasa
processes; socket.io polling through nginx; one Rasa process SIGKILLed mid-conversation;
PostgreSQL stopped and started mid-conversation; Redis stopped and started; `status` and
`down`. What a client saw during each outage is printed (run with -s to read it) and
collected in the report at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
import sqlalchemy as sa

from tests.personal_data import MadeUpPerson, assert_var_is_private_and_holds_none_of
from tests.sockets import listening_addresses

# (test, what happened): printed at the end of the module, for the deployment notes.
OBSERVED: list[tuple[str, str]] = []

BUTTONS_TO_RECOMMENDATION = [
    '/inform{"user_role":"self"}',
    '/inform{"work_status":"off_sick"}',
    '/inform{"weeks_off_sick":"8"}',
    '/inform{"has_fit_note":"yes"}',
    '/inform{"condition_category":"musculoskeletal"}',
    '/inform{"ready_to_work":"yes"}',
    '/inform{"age":"35"}',
    '/inform{"area_id":"england"}',
]


class Reply:
    def __init__(self, status: int, body: bytes, upstream: str, seconds: float) -> None:
        self.status = status
        self.body = body
        self.upstream = upstream
        self.seconds = seconds

    @property
    def messages(self) -> list[dict]:
        try:
            data = json.loads(self.body)
        except ValueError:
            return []
        return data if isinstance(data, list) else []

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages if "text" in m]

    def custom(self, key: str):  # noqa: ANN201
        for message in self.messages:
            if key in message.get("custom", {}):
                return message["custom"][key]
        return None

    def describe(self) -> str:
        body = self.body.decode(errors="replace").replace("\n", " ")
        return f"HTTP {self.status}, {self.seconds:.2f} s, body {body[:160]!r}"


class Chat:
    """The REST channel through nginx's front door, recording which Rasa process answered."""

    def __init__(self, stack, sender: str | None = None) -> None:
        self.stack = stack
        self.sender = sender or f"prod-{uuid.uuid4()}"

    def say(self, message: str, timeout: float = 60, port: int | None = None) -> Reply:
        """Through nginx; or, with `port`, straight to that Rasa process (loopback)."""
        base = f"http://127.0.0.1:{port}" if port else self.stack.public_url
        request = urllib.request.Request(
            f"{base}/webhooks/rest/webhook",
            data=json.dumps({"sender": self.sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(
                    response.status,
                    response.read(),
                    response.headers.get("X-Upstream", f"127.0.0.1:{port}"),
                    time.monotonic() - started,
                )
        except urllib.error.HTTPError as error:
            return Reply(
                error.code, error.read(), error.headers.get("X-Upstream", ""), time.monotonic() - started
            )

    def say_ok(self, message: str) -> Reply:
        reply = self.say(message)
        assert reply.status == 200 and reply.messages, f"{message!r}: {reply.describe()}"
        return reply

    def slots(self, port: int) -> dict:
        """The conversation's slots from one Rasa process's HTTP API (loopback only, with the token)."""
        url = f"http://127.0.0.1:{port}/conversations/{self.sender}/tracker?token={self.stack.token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())["slots"]


def rasa_port_of(upstream: str) -> int:
    """The port of the process that answered (the last one nginx tried, if it tried two)."""
    return int(upstream.split(",")[-1].strip().rsplit(":", 1)[1])


def resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_until_refused(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"port {port} still accepts connections")


def observe(test: str, what: str) -> None:
    OBSERVED.append((test, what))
    print(f"\n[observed] {test}: {what}")


@pytest.fixture(scope="module", autouse=True)
def report_observations():
    yield
    if OBSERVED:
        print("\n\nWhat clients saw (tests/production/test_stack.py):")
        for test, what in OBSERVED:
            print(f"  - {test}: {what}")


def test_a_conversation_through_nginx_reaches_a_recommendation_on_both_processes(
    production_stack, private_postgres
):
    stack = production_stack
    observe("start-up", f"`production up --detach` took {stack.up_seconds:.0f} s")
    chat = Chat(stack)
    replies = [chat.say_ok("hello")]
    assert "Who is this for?" in replies[0].texts
    replies += [chat.say_ok(message) for message in BUTTONS_TO_RECOMMENDATION]

    payload = replies[-1].custom("recommendations")
    assert payload, f"no recommendations in {replies[-1].describe()}"
    assert "national-workwell" in [r["service_id"] for r in payload]

    answered_by = [rasa_port_of(r.upstream) for r in replies]
    assert set(answered_by) == set(stack.rasa_ports), f"turns went to {answered_by}"
    observe("round-robin", f"9 turns answered by ports {answered_by}")

    # Both processes read and wrote the one conversation in PostgreSQL.
    engine = sa.create_engine(private_postgres.database_url("chatbot"), future=True)
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": chat.sender}
            ).scalar()
            revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert stored > 20
    from chatbot.production.schema import head_revision

    assert revision == head_revision()
    for port in stack.rasa_ports:
        assert chat.slots(port)["area_id"] == "england"

    # Only nginx listens beyond loopback; each process's memory, for the deployment notes.
    state = stack.state()
    for name, record in state["processes"].items():
        if record["port"] and name != "nginx":
            assert listening_addresses(record["port"]) == {"127.0.0.1"}, name
    observe(
        "memory",
        ", ".join(f"{name} {resident_mb(r['pid']):.0f} MB" for name, r in state["processes"].items()),
    )


def test_nothing_personal_is_plain_in_postgresql_or_under_var(production_stack, private_postgres):
    """Issue 17: a conversation full of a name, a number, an address and a condition, then
    every table of the production database and every file under var/ searched for them."""
    stack = production_stack
    person = MadeUpPerson.new()
    chat = Chat(stack)
    chat.say_ok(
        f"Hi, I'm {person.name}, my number is {person.phone}, I live at 12 {person.street}, "
        f"I'm off sick with {person.condition}"
    )
    chat.say_ok(f"my name is {person.name} and you can ring {person.phone}")
    needles = person.needles()
    engine = sa.create_engine(private_postgres.database_url("chatbot"), future=True)
    try:
        with engine.connect() as connection:
            tables = (
                connection.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                .scalars()
                .all()
            )
            for table in tables:
                rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                dump = "\n".join(map(str, rows))
                for needle in needles:
                    assert needle not in dump, f"table {table} holds {needle!r}"
    finally:
        engine.dispose()
    assert_var_is_private_and_holds_none_of(stack.var_dir, needles)


def test_socketio_polling_through_nginx_gets_its_replies(production_stack):
    import socketio

    stack = production_stack
    session_id = uuid.uuid4().hex
    received: list[dict] = []
    confirmed = threading.Event()
    arrived = threading.Condition()
    client = socketio.Client(reconnection=False)

    @client.on("session_confirm")
    def _confirm(*_):  # noqa: ANN002, ANN202
        confirmed.set()

    @client.on("bot_uttered")
    def _bot(data):  # noqa: ANN001, ANN202
        with arrived:
            received.append(data)
            arrived.notify_all()

    def wait_for(predicate, timeout: float = 30) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        with arrived:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, f"socket.io replies so far: {received}"
                arrived.wait(left)

    client.connect(stack.public_url, transports=["polling"], socketio_path="socket.io", wait_timeout=20)
    try:
        client.emit("session_request", {"session_id": session_id})
        assert confirmed.wait(20), "no session_confirm"
        client.emit("user_uttered", {"message": "hello", "session_id": session_id})
        wait_for(lambda: any(m.get("text") == "Who is this for?" for m in received))
        count = len(received)
        client.emit("user_uttered", {"message": '/inform{"user_role":"self"}', "session_id": session_id})
        wait_for(lambda: any("work situation" in (m.get("text") or "") for m in received[count:]))
    finally:
        client.disconnect()
    # Every polling request of the socket reached one process (nginx's access log, ip_hash).
    upstreams = set()
    for line in stack.log("nginx-access.log").splitlines():
        entry = json.loads(line)
        if entry["path"] == "/socket.io/" and entry["upstream"]:
            upstreams.add(entry["upstream"])
    assert len(upstreams) == 1, upstreams
    observe(
        "socket.io", f"{len(received)} bot_uttered events over polling, all requests to {upstreams.pop()}"
    )


def test_a_killed_rasa_process_leaves_the_conversation_to_the_other(production_stack):
    stack = production_stack
    chat = Chat(stack)
    chat.say_ok("hello")
    for message in BUTTONS_TO_RECOMMENDATION[:3]:
        chat.say_ok(message)

    victim = stack.state()["processes"]["rasa-1"]
    os.killpg(victim["pid"], signal.SIGKILL)
    survivor = stack.rasa_ports[1]
    # A message sent at the very moment of the kill may reach the dying process (its socket
    # still accepts for a few ms): nginx then answers 502 and does not repeat the POST on the
    # other process, since the dead one may have done part of it. The client sends it again.
    # A dying process keeps accepting connections until the kernel has torn it down (freeing
    # its memory comes first, closing its sockets after), so the same can happen to the next
    # message or two: wait until its port refuses, as it does once it is gone.
    first = chat.say(BUTTONS_TO_RECOMMENDATION[3])
    observe("SIGKILL rasa-1", f"a message sent at the moment of the kill got {first.describe()[:60]}")
    wait_until_refused(victim["port"])
    if first.status != 200:
        assert first.status == 502, first.describe()
        first = chat.say(BUTTONS_TO_RECOMMENDATION[3])
    replies = [first] + [chat.say(message) for message in BUTTONS_TO_RECOMMENDATION[4:]]
    observe("SIGKILL rasa-1", "then: " + "; ".join(f"HTTP {r.status} from {r.upstream}" for r in replies))
    for reply in replies:
        assert reply.status == 200 and reply.messages, reply.describe()
        assert rasa_port_of(reply.upstream) == survivor
    assert replies[-1].custom("recommendations"), replies[-1].describe()
    slots = chat.slots(survivor)
    # What was said before the kill is still there, and so is what came after.
    assert (slots["user_role"], slots["work_status"], slots["weeks_off_sick"]) == ("self", "off_sick", 8.0)
    assert slots["area_id"] == "england"

    # The supervisor starts it again; then both take turns once more.
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        rasa_1 = stack.status()["processes"]["rasa-1"]
        if rasa_1["healthy"] and rasa_1["restarts"] >= 1:
            break
        time.sleep(2)
    else:
        pytest.fail(f"rasa-1 was not restarted: {stack.status()}")
    waited = 150 - (deadline - time.monotonic())
    observe("SIGKILL rasa-1", f"the supervisor had it answering again after {waited:.0f} s")


def say_until(chat: Chat, message: str, port: int, expected: str, tries: int = 3) -> list[Reply]:
    """Send `message` to one Rasa process until a reply contains `expected`; every reply, in order."""
    replies = []
    for _ in range(tries):
        replies.append(chat.say(message, port=port))
        if any(expected in t for t in replies[-1].texts):
            break
    return replies


FRESH_START = "Hello. I can help you find local support"
# After a PostgreSQL restart Rasa's own engine kept dead pooled connections: the first
# message on each process was read as a new conversation and lost. PrivateSQLTrackerStore
# now pings pooled connections (pool_pre_ping), and this test holds it to that.


def test_postgresql_stopped_and_started_mid_conversation(production_stack, private_postgres):
    stack = production_stack
    chat = Chat(stack)
    chat.say_ok("hello")
    chat.say_ok(BUTTONS_TO_RECOMMENDATION[0])
    chat.say_ok(BUTTONS_TO_RECOMMENDATION[1])

    restarts_before = {n: p["restarts"] for n, p in stack.status()["processes"].items()}
    private_postgres.stop_server()
    try:
        during = chat.say(BUTTONS_TO_RECOMMENDATION[2], timeout=90)
        observe("PostgreSQL down", f"a message to {during.upstream} got {during.describe()}")
        assert during.status >= 500 or not any("fit note" in t for t in during.texts)  # nothing went ahead
        assert all(p["alive"] for p in stack.status()["processes"].values())
    finally:
        private_postgres.start_server()

    # Back. Each Rasa process in turn, straight to its port so that both are tried for certain
    # (one met the outage, the other still holds the connections it had before): the
    # conversation goes on where it was, with the next question of the form.
    first_port, second_port = stack.rasa_ports
    first = say_until(chat, BUTTONS_TO_RECOMMENDATION[2], first_port, "fit note")
    second = say_until(chat, BUTTONS_TO_RECOMMENDATION[3], second_port, "main health condition")
    for port, replies in ((first_port, first), (second_port, second)):
        observe(
            "PostgreSQL back",
            f"port {port}: "
            + " | ".join(f"HTTP {r.status} {(r.texts or ['(no text)'])[0][:50]!r}" for r in replies),
        )
    assert any("fit note" in t for t in first[-1].texts), first[-1].describe()
    assert any("main health condition" in t for t in second[-1].texts), second[-1].describe()
    # Then every turn works through nginx, with what was said before the outage kept.
    replies = [chat.say_ok(m) for m in BUTTONS_TO_RECOMMENDATION[4:]]
    assert replies[-1].custom("recommendations")
    slots = chat.slots(stack.rasa_ports[0])
    assert (slots["user_role"], slots["work_status"], slots["weeks_off_sick"]) == ("self", "off_sick", 8.0)
    # No process died or was restarted for it.
    assert {n: p["restarts"] for n, p in stack.status()["processes"].items()} == restarts_before


def test_after_pg_ctl_restart_the_first_message_on_each_process_is_answered_in_context(
    production_stack, private_postgres
):
    stack = production_stack
    chat = Chat(stack)
    # Both processes read and write the conversation, so both hold pooled connections.
    chat.say_ok("hello")
    chat.say(BUTTONS_TO_RECOMMENDATION[0], port=stack.rasa_ports[0])
    chat.say(BUTTONS_TO_RECOMMENDATION[1], port=stack.rasa_ports[1])

    private_postgres.restart()  # pg_ctl restart -m fast: every open connection is cut

    first = chat.say(BUTTONS_TO_RECOMMENDATION[2], port=stack.rasa_ports[0])
    second = chat.say(BUTTONS_TO_RECOMMENDATION[2], port=stack.rasa_ports[1])
    fresh = [r.upstream for r in (first, second) if any(FRESH_START in t for t in r.texts)]
    if fresh:
        observe("pg_ctl restart", f"first message after it answered as a fresh start by {fresh}")
    assert any("fit note" in t for t in first.texts), first.describe()
    assert not fresh


def test_redis_stopped_gives_an_error_and_the_servers_stay_up(production_stack, private_redis):
    stack = production_stack
    chat = Chat(stack)
    chat.say_ok("hello")
    chat.say_ok(BUTTONS_TO_RECOMMENDATION[0])

    private_redis.stop_server()
    try:
        during = chat.say(BUTTONS_TO_RECOMMENDATION[1], timeout=90)
        observe("Redis down", f"a message got {during.describe()}")
        with urllib.request.urlopen(f"{stack.public_url}/", timeout=10) as response:
            assert response.status == 200  # the servers stay up
        status = stack.status()
        assert all(p["alive"] for p in status["processes"].values()), status
        # A clear error: HTTP 5xx, or a kind message that is not the form going ahead.
        went_ahead = any("How long have you been off sick?" in t for t in during.texts)
        clear_error = during.status >= 500 or (during.status == 200 and during.texts and not went_ahead)
        if not clear_error:
            observe("Redis down", "NOT a clear error")
    finally:
        private_redis.start()

    reply = chat.say_ok(BUTTONS_TO_RECOMMENDATION[1])
    assert any("How long have you been off sick?" in t for t in reply.texts), reply.describe()
    slots = chat.slots(stack.rasa_ports[0])
    assert (slots["user_role"], slots["work_status"]) == ("self", "off_sick")
    observe("Redis back", f"the next message was answered: {reply.describe()[:90]}")
    assert clear_error, f"while Redis was down the client got {during.describe()}"


def test_status_then_down_stops_everything(production_stack):
    stack = production_stack
    status = stack.status()
    assert status["running"] and status["healthy"], status
    assert set(status["processes"]) == {"actions-1", "actions-2", "rasa-1", "rasa-2", "worker-1", "nginx"}
    state = stack.state()
    text = stack.cli("status")
    assert text.returncode == 0 and "healthy" in text.stdout and "rasa-2" in text.stdout
    again = stack.cli("up", "--detach", timeout=60)
    assert again.returncode == 1 and "already runs" in again.stderr

    result = stack.cli("down", timeout=120)
    assert result.returncode == 0, result.stderr
    from chatbot.production.stack import process_alive, start_ticks

    assert not any(process_alive(p) for p in state["processes"].values())
    assert start_ticks(state["supervisor"]) is None  # gone (or a zombie nobody has reaped yet)
    assert stack.cli("status").returncode == 3  # not running
    # The nginx access log is JSON lines with no query strings and no client addresses.
    for line in stack.log("nginx-access.log").splitlines():
        entry = json.loads(line)
        assert "?" not in entry["path"] and "token" not in line
