"""The commands a council's data-protection officer runs: purge, erase, withdraw, outbox.

Each runs as a real subprocess (`python -m chatbot …`) against SQLite files in
its own var/ directory, like an operator at a shell.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.config import PROJECT_ROOT
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.privacy.tracker_store import PrivateSQLTrackerStore
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher, derived_secret, load_key

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def var(tmp_path):
    return tmp_path


def run_command(var, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRACKER_STORE_URL")}
    env.update(CHATBOT_VAR_DIR=str(var), CONVERSATION_RETENTION_DAYS="30", REFERRAL_RETENTION_DAYS="90")
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )


def save_conversation(var, sender: str, days_ago: float) -> None:
    when = (NOW - dt.timedelta(days=days_ago)).timestamp()
    tracker_store = PrivateSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{var / 'tracker.db'}")
    tracker = DialogueStateTracker(sender, slots=[])
    tracker.update(ActionExecuted("action_listen", timestamp=when))
    tracker.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}, timestamp=when))
    asyncio.run(tracker_store.save(tracker))
    tracker_store.engine.dispose()


def events_of(var, sender: str) -> int:
    connection = sqlite3.connect(var / "tracker.db")
    (count,) = connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()
    connection.close()
    return count


def make_referral(var, sender: str, days_ago: float) -> str:
    key = load_key(var)
    secret = derived_secret(key, "person")
    engine = make_engine(f"sqlite:///{var / 'chatbot.db'}")
    create_schema(engine)
    decided = NOW - dt.timedelta(days=days_ago)
    with session_scope(engine) as session:
        result = store.submit(
            session,
            store.Submission(
                person_key=store.person_key(secret, sender),
                submission_key=store.submission_key(secret, sender, "attempt"),
                service_id="islington-iwork",
                method="email",
                destination="referrals@iwork.islington.example",
                channel="rest",
                role="self",
                name="Robin Example",
                contact_route="email",
                contact="robin@example.com",
                best_time="any",
                shared_facts={"area_id": "islington"},
                consent=store.Consent("v1", "person", "typed 'yes' in rest", decided),
            ),
            ContactCipher(key),
            decided,
        )
    engine.dispose()
    return result.reference


def referral_row(var, reference: str) -> tuple:
    connection = sqlite3.connect(var / "chatbot.db")
    row = connection.execute(
        "SELECT status, name_encrypted IS NULL, contact_encrypted IS NULL FROM referrals WHERE reference = ?",
        (reference,),
    ).fetchone()
    connection.close()
    return row


def test_purge_removes_what_is_past_its_retention_and_keeps_the_rest(var):
    save_conversation(var, "old-person", days_ago=45)
    save_conversation(var, "new-person", days_ago=2)
    old_reference = make_referral(var, "old-person", days_ago=120)
    new_reference = make_referral(var, "new-person", days_ago=2)

    done = run_command(var, "purge")

    assert done.returncode == 0, done.stderr
    assert "Removed 1 conversations" in done.stdout and "personal data of 1 referrals" in done.stdout
    assert events_of(var, "old-person") == 0 and events_of(var, "new-person") == 2
    assert referral_row(var, old_reference)[1:] == (1, 1)
    assert referral_row(var, new_reference) == ("submitted", 0, 0)


def test_erase_forgets_one_persons_conversation_and_referral_details(var):
    save_conversation(var, "asks-to-be-forgotten", days_ago=1)
    save_conversation(var, "someone-else", days_ago=1)
    reference = make_referral(var, "asks-to-be-forgotten", days_ago=1)
    other = make_referral(var, "someone-else", days_ago=1)

    done = run_command(var, "erase", "--sender", "asks-to-be-forgotten")

    assert done.returncode == 0, done.stderr
    assert "Erased 2 conversation events and the details of 1 referrals" in done.stdout
    assert events_of(var, "asks-to-be-forgotten") == 0 and events_of(var, "someone-else") == 2
    assert referral_row(var, reference) == ("withdrawn", 1, 1)
    assert referral_row(var, other) == ("submitted", 0, 0)


def test_withdraw_by_reference_and_the_outbox_counts(var):
    reference = make_referral(var, "changes-their-mind", days_ago=1)

    withdrawn = run_command(var, "referrals", "withdraw", reference.lower().replace("-", " "))
    again = run_command(var, "referrals", "withdraw", reference)
    unknown = run_command(var, "referrals", "withdraw", "HW-00000-00000")
    nonsense = run_command(var, "referrals", "withdraw", "<script>")
    outbox = run_command(var, "referrals", "outbox", "--json")

    assert withdrawn.stdout.strip() == f"{reference}: stopped"
    assert again.stdout.strip() == f"{reference}: already withdrawn"
    assert unknown.returncode == 1 and "not found" in unknown.stdout
    assert nonsense.returncode == 1 and "is not a referral reference" in nonsense.stderr
    summary = json.loads(outbox.stdout)
    assert set(summary) == {"cancelled"} and summary["cancelled"]["messages"] == 1
    for done in (withdrawn, again, unknown, outbox):
        assert "Robin" not in done.stdout + done.stderr and "robin@" not in done.stdout + done.stderr


def test_var_is_made_owner_only_and_existing_files_are_fixed(tmp_path):
    import stat

    from chatbot.privacy.files import keep_private

    var = tmp_path / "var"
    (var / "logs").mkdir(parents=True)
    (var / "tracker.db").write_text("x")
    (var / "logs" / "rasa.log").write_text("x")
    for path in (var, var / "logs"):
        path.chmod(0o755)
    for path in (var / "tracker.db", var / "logs" / "rasa.log"):
        path.chmod(0o644)
    assert keep_private(var) == 4
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [var, *var.rglob("*")]}
    assert modes == {"var": 0o700, "logs": 0o700, "tracker.db": 0o600, "rasa.log": 0o600}
    assert keep_private(var) == 0
