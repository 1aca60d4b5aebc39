"""Security of the servers `make run` starts: loopback only, Rasa's API behind its token,
CORS only for the configured origins, secrets only in the environment (issue 7)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from chatbot.config import PROJECT_ROOT
from chatbot.runner import StartError, cors_arguments, rasa_server_command
from tests.sockets import listening_addresses


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_both_servers_listen_on_loopback_only(live_servers):
    for url in (live_servers.rasa_url, live_servers.action_url):
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}, url


def test_rasas_http_api_needs_the_token(live_servers):
    tracker = f"{live_servers.rasa_url}/conversations/security-check/tracker"
    assert get(tracker)[0] == 401
    assert get(f"{tracker}?token=wrong")[0] == 401
    assert get(f"{live_servers.rasa_url}/status")[0] == 401
    assert get(f"{tracker}?token={live_servers.token}")[0] == 200


def test_the_token_is_on_no_command_line(live_servers):
    for name, process in live_servers.processes.items():
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert live_servers.token not in command_line, name


def test_cors_answers_only_the_configured_origin(live_servers):
    url = f"{live_servers.rasa_url}/webhooks/rest/webhook"
    allowed = live_servers.rasa_url.replace("127.0.0.1", "localhost")  # make run's default CORS_ORIGINS
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    _, headers = get(url, {"Origin": allowed, **preflight}, method="OPTIONS")
    assert headers.get("Access-Control-Allow-Origin") == allowed
    for stranger in ("https://evil.example", "http://localhost.evil.example", "null"):
        _, headers = get(url, {"Origin": stranger, **preflight}, method="OPTIONS")
        assert "Access-Control-Allow-Origin" not in headers, stranger


def test_cors_origins_become_one_argument_each_and_none_means_no_cors():
    assert cors_arguments("https://a.gov.uk, https://b.gov.uk") == [
        "--cors",
        "https://a.gov.uk",
        "https://b.gov.uk",
    ]
    assert cors_arguments("") == [] and cors_arguments(" , ") == []
    command = rasa_server_command(Path("m.tar.gz"), "127.0.0.1", 5005, "")
    assert "--cors" not in command


def test_a_wildcard_cors_origin_is_refused():
    with pytest.raises(StartError, match="CORS_ORIGINS"):
        cors_arguments("https://a.gov.uk,*")


def test_configuration_files_hold_no_secrets_only_environment_references():
    """endpoints.yml and credentials.yml take every value that could be secret from ${VARIABLES}."""
    secret_keys = re.compile(
        r"^\s*(password|token|secret|api_key|access_token|webhook_secret)\s*:\s*(.+)$", re.I
    )
    for name in ("endpoints.yml", "credentials.yml"):
        for line in (PROJECT_ROOT / name).read_text().splitlines():
            match = secret_keys.match(line)
            if match and not line.lstrip().startswith("#"):
                assert re.fullmatch(r"\$\{[A-Z_]+\}", match.group(2).strip()), f"{name}: {line.strip()}"


def test_no_key_or_token_files_are_tracked_by_git():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    suspicious = [p for p in tracked if re.search(r"(\.key|\.pem|rasa_api_token|\.env)$", p)]
    assert suspicious == []
    # Nothing in var/ (generated keys and tokens live there) is tracked.
    assert not [p for p in tracked if p.startswith("var/")]
