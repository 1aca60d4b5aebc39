"""nginx's per-client limit on the chat endpoints, on the running production profile.

A flood from one address gets 429 from nginx (Rasa never sees the excess), the health
check through nginx is not limited, and once the flood stops the client is served again.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tests.production.test_stack import observe


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_flood_from_one_client_gets_429_and_the_client_is_served_again(production_stack):
    stack = production_stack
    url = f"{stack.public_url}/webhooks/rest/"
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(status_of, [url] * 300))
    limited, served = statuses.count(429), statuses.count(200)
    observe("flood of 300 requests", f"{served} answered, {limited} refused with 429 by nginx")
    assert limited > 0 and served > 0
    assert set(statuses) <= {200, 429}
    assert status_of(f"{stack.public_url}/") == 200  # the health check is not limited

    deadline = time.monotonic() + 15
    while status_of(url) != 200:
        assert time.monotonic() < deadline, "still refused 15 s after the flood"
        time.sleep(0.5)
    # nginx logged the refusals like any request: JSON, status 429, no client address.
    assert '"status":429' in stack.log("nginx-access.log")
    # Let the bucket fill again (burst / rate), so the next tests from this address are not refused.
    time.sleep(
        int(stack.env.get("CLIENT_RATE_BURST", "60")) / int(stack.env.get("CLIENT_RATE_PER_SECOND", "10"))
    )
