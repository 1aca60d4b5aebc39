"""Rasa's Redis lock store in two round trips a message instead of seven.

Several Rasa processes share conversations, so each message takes a lock on its
conversation first: messages of one conversation are answered one at a time, in
the order they came, whichever process has them. Rasa's RedisLockStore keeps a
list of tickets as one JSON value and reads and rewrites it seven times a message
(issue, check, finish, check again, delete), each a blocking round trip on the
server's event loop, and not atomically: two processes issuing at once can lose a
ticket. On this profile that was a tenth of a message's time (docs/benchmarks.md).

This store keeps Rasa's rules (tickets served in the order issued; a ticket older
than the lock lifetime is skipped, so a crashed process holds nobody up for long;
LockError when a wait outlives the lifetime or Redis fails) with Redis's own
atomic operations, in two Lua scripts:

- `take`: issue the next ticket and say whether it is its turn (1 round trip);
- `release`: end the ticket, and delete the conversation's keys if nobody waits.

Only a ticket that has to wait asks again, every `wait_time_in_seconds` as in Rasa.
Keys: `<prefix>lock:<conversation>:next`, `…:serving`, `…:ticket:<n>`; all expire.

endpoints.yml: `lock_store: type: chatbot.production.lock_store.RedisTicketLockStore`
with Rasa's RedisLockStore options (url, port, db, password, …). LOCK_STORE_TYPE=redis
selects it (chatbot/config.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# KEYS[1]: the conversation's key base. ARGV[1]: the lock lifetime in ms.
# Returns {ticket, 1 if it is that ticket's turn now}.
TAKE = """
local base, lifetime = KEYS[1], ARGV[1]
local ticket = redis.call('INCR', base .. ':next')
redis.call('PEXPIRE', base .. ':next', lifetime)
redis.call('SET', base .. ':ticket:' .. ticket, 1, 'PX', lifetime)
local serving = tonumber(redis.call('GET', base .. ':serving') or ticket)
while serving < ticket and redis.call('EXISTS', base .. ':ticket:' .. serving) == 0 do
  serving = serving + 1
end
redis.call('SET', base .. ':serving', serving, 'PX', lifetime)
return {ticket, serving == ticket and 1 or 0}
"""

# KEYS[1]: the key base. ARGV[1]: a ticket, ARGV[2]: the lifetime in ms.
# Returns 1 if it is the ticket's turn, 0 if not yet, -1 if the ticket has expired.
TURN = """
local base, ticket, lifetime = KEYS[1], tonumber(ARGV[1]), ARGV[2]
if redis.call('EXISTS', base .. ':ticket:' .. ticket) == 0 then
  return -1
end
local serving = tonumber(redis.call('GET', base .. ':serving') or ticket)
while serving < ticket and redis.call('EXISTS', base .. ':ticket:' .. serving) == 0 do
  serving = serving + 1
end
redis.call('SET', base .. ':serving', serving, 'PX', lifetime)
return serving == ticket and 1 or 0
"""

# KEYS[1]: the key base. ARGV[1]: the ticket ending.
RELEASE = """
local base, ticket = KEYS[1], ARGV[1]
redis.call('DEL', base .. ':ticket:' .. ticket)
if redis.call('GET', base .. ':next') == ticket then
  redis.call('DEL', base .. ':next', base .. ':serving')
end
return 1
"""


class RedisTicketLockStore(RedisLockStore):
    """Rasa's ticket lock on Redis, taken and released in one round trip each."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        self._take = self.red.register_script(TAKE)
        self._turn = self.red.register_script(TURN)
        self._release = self.red.register_script(RELEASE)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        base = self.key_prefix + conversation_id
        lifetime_ms = max(1, math.ceil(lock_lifetime * 1000))
        ticket, turn = self._call(self._take, base, lifetime_ms)
        try:
            while turn == 0:
                await asyncio.sleep(wait_time_in_seconds)
                turn = self._call(self._turn, base, ticket, lifetime_ms)
            if turn < 0:  # our ticket outlived the lock lifetime while it waited
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            yield TicketLock(conversation_id)
        finally:
            self._call(self._release, base, ticket)

    @staticmethod
    def _call(script: Any, base: str, *args: Any) -> Any:
        """One script, one round trip; any Redis failure is Rasa's LockError, as in RedisLockStore."""
        try:
            result = script(keys=[base], args=list(args))
        except Exception as error:  # redis-py raises many kinds; Rasa turns them all into LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return [int(value) for value in result] if isinstance(result, list) else int(result)
