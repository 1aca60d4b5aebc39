"""RedisTicketLockStore on the machine's Redis (127.0.0.1:6379): Rasa's lock rules, in fewer round trips.

Each test uses its own key prefix in Redis database 7 and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from chatbot.config import RASA_LOCK_STORES
from chatbot.production.lock_store import RedisTicketLockStore

REDIS_DB = 7
FAST = 0.01  # seconds between a waiting ticket's checks (Rasa's default is 1 s)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def store(prefix: str, **options) -> RedisTicketLockStore:  # noqa: ANN003
    try:
        made = RedisTicketLockStore(host="127.0.0.1", port=6379, db=REDIS_DB, key_prefix=prefix, **options)
        made.red.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.fail(f"Redis at 127.0.0.1:6379 is needed: {error}")
    return made


def keys_left(prefix: str) -> list[bytes]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        return list(client.scan_iter(f"{prefix}:*"))
    finally:
        client.close()


def test_messages_of_one_conversation_are_served_one_at_a_time_in_order(prefix):
    """Two stores (two Rasa processes), eight messages at once: no overlap, first come first served."""
    stores = [store(prefix), store(prefix)]
    log: list[tuple[str, int]] = []

    async def message(number: int) -> None:
        await asyncio.sleep(number * 0.005)  # they arrive in this order
        async with stores[number % 2].lock("conversation-a", wait_time_in_seconds=FAST):
            log.append(("in", number))
            await asyncio.sleep(0.02)  # the message is being answered
            log.append(("out", number))

    async def scenario() -> None:
        await asyncio.gather(*(message(n) for n in range(8)))

    asyncio.run(scenario())
    assert log == [entry for n in range(8) for entry in (("in", n), ("out", n))]
    assert keys_left(prefix) == []  # nothing left behind once nobody waits


def test_other_conversations_do_not_wait(prefix):
    lock_store = store(prefix)
    entered: list[str] = []

    async def scenario() -> None:
        async with lock_store.lock("busy", wait_time_in_seconds=FAST):
            async with lock_store.lock("other", wait_time_in_seconds=FAST):
                entered.append("other")

    asyncio.run(asyncio.wait_for(scenario(), timeout=2))
    assert entered == ["other"]


def test_a_ticket_left_by_a_crashed_process_holds_others_up_only_for_the_lock_lifetime(prefix):
    lock_store = store(prefix)
    base = lock_store.key_prefix + "conversation-b"
    lock_store._call(lock_store._take, base, 300)  # taken, never released: the process died

    async def scenario() -> float:
        started = time.monotonic()
        async with lock_store.lock("conversation-b", lock_lifetime=5, wait_time_in_seconds=FAST):
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert 0.2 < waited < 2
    assert keys_left(prefix) == []


def test_the_lock_is_released_when_answering_fails(prefix):
    lock_store = store(prefix)

    async def failing() -> None:
        async with lock_store.lock("conversation-c", wait_time_in_seconds=FAST):
            raise RuntimeError("the message failed")

    with pytest.raises(RuntimeError):
        asyncio.run(failing())

    async def next_message() -> bool:
        async with lock_store.lock("conversation-c", wait_time_in_seconds=FAST):
            return True

    assert asyncio.run(asyncio.wait_for(next_message(), timeout=1))


def test_redis_unreachable_is_rasas_lock_error():
    lock_store = RedisTicketLockStore(host="127.0.0.1", port=1, db=REDIS_DB, socket_timeout=1)

    async def scenario() -> None:
        async with lock_store.lock("conversation-d"):
            pass

    with pytest.raises(LockError):
        asyncio.run(scenario())


def test_rasa_builds_it_from_endpoints_yml_as_lock_store_type_redis_asks(prefix):
    endpoint = {"type": RASA_LOCK_STORES["redis"], "url": "127.0.0.1", "port": 6379, "db": REDIS_DB}
    config = EndpointConfig.from_dict({**endpoint, "key_prefix": prefix})
    made = LockStore.create(config)
    assert isinstance(made, RedisTicketLockStore)
    assert made.red.connection_pool.connection_kwargs["db"] == REDIS_DB

    async def scenario() -> bool:
        async with made.lock("conversation-e", wait_time_in_seconds=FAST):
            return True

    assert asyncio.run(scenario())


def test_lock_store_type_redis_gives_the_rasa_processes_this_store():
    from dataclasses import replace

    from chatbot.config import load_settings, rasa_environment

    for asked, rasa_gets in [
        ("redis", "chatbot.production.lock_store.RedisTicketLockStore"),
        ("in_memory", "in_memory"),
    ]:
        assert (
            rasa_environment(replace(load_settings(), lock_store_type=asked))["LOCK_STORE_TYPE"] == rasa_gets
        )
