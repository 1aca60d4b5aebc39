"""A small client for the REST channel, for tests that hold real conversations."""

from __future__ import annotations

import json
import urllib.request
import uuid


class Conversation:
    def __init__(self, base_url: str, sender: str | None = None, token: str | None = None):
        self.base_url = base_url
        self.sender = sender or f"test-{uuid.uuid4()}"
        self.token = token

    def slots(self) -> dict:
        """The conversation's slots, read through Rasa's HTTP API (needs the token)."""
        url = f"{self.base_url}/conversations/{self.sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())["slots"]

    def say(self, message: str) -> list[dict]:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    @staticmethod
    def texts(replies: list[dict]) -> list[str]:
        return [r["text"] for r in replies if "text" in r]

    @staticmethod
    def buttons(replies: list[dict]) -> list[str]:
        return [b["title"] for r in replies for b in r.get("buttons") or []]

    @staticmethod
    def custom(replies: list[dict], key: str) -> object | None:
        for r in replies:
            if key in r.get("custom", {}):
                return r["custom"][key]
        return None
