"""The production profile's settings and nginx configuration (no servers: fast)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from chatbot.config import PROJECT_ROOT, load_settings
from chatbot.production import nginx
from chatbot.production.settings import (
    ProductionConfigError,
    load_production_settings,
    production_environment,
)


def production_settings(tmp_path: Path, **env: str):
    full = production_environment({**env})
    settings = replace(load_settings(), var_dir=tmp_path, lock_store_type=full["LOCK_STORE_TYPE"])
    return load_production_settings(full, settings), full


def test_defaults_fill_only_what_is_unset():
    env = production_environment({"DATABASE_URL": "postgresql://app@db.internal/chat", "PUBLIC_PORT": "9000"})
    assert env["DATABASE_URL"] == "postgresql://app@db.internal/chat"
    assert env["TRACKER_STORE_URL"] == "postgresql://app@db.internal/chat"  # same database by default
    assert env["LOCK_STORE_TYPE"] == "redis"
    assert env["RASA_PORTS"] == "5005,5006" and env["ACTION_PORTS"] == "5055,5056"
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5050/webhook"  # nginx's action upstream
    assert env["PUBLIC_BASE_URL"] == "http://localhost:9000"
    assert env["CORS_ORIGINS"] == "http://localhost:9000"
    assert env["RASA_TELEMETRY_ENABLED"] == "false"

    bare = production_environment({})
    assert bare["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/chatbot"
    assert bare["PUBLIC_PORT"] == "8080"


def test_sqlite_and_an_in_memory_lock_store_are_refused(tmp_path):
    with pytest.raises(ProductionConfigError, match="DATABASE_URL must be a postgresql"):
        production_settings(tmp_path, DATABASE_URL="sqlite:///var/chatbot.db")
    with pytest.raises(ProductionConfigError, match="lock store must be redis"):
        production_settings(tmp_path, LOCK_STORE_TYPE="in_memory")
    with pytest.raises(ProductionConfigError, match="must all differ"):
        production_settings(tmp_path, RASA_PORTS="5005,5055")
    with pytest.raises(ProductionConfigError, match="RASA_PORTS"):
        production_settings(tmp_path, RASA_PORTS="five")


def test_nginx_configuration_routes_socketio_sticky_and_rest_round_robin(tmp_path):
    production, env = production_settings(tmp_path, RASA_PORTS="7001,7002,7003", REAL_IP_FROM="10.0.0.0/8")
    text = nginx.config_text(production, env)
    assert "{{" not in text
    sticky = re.search(r"upstream rasa_sticky \{(.*?)\}", text, re.S).group(1)
    assert "ip_hash;" in sticky
    assert sticky.count("server 127.0.0.1:700") == 3
    round_robin = re.search(r"upstream rasa_round_robin \{(.*?)\}", text, re.S).group(1)
    assert "ip_hash" not in round_robin and round_robin.count("server 127.0.0.1:700") == 3
    assert re.search(r"location /socket\.io/ \{\s*(limit_req [^;]*;\s*)?proxy_pass http://rasa_sticky;", text)
    assert re.search(
        r"location /webhooks/ \{\s*(limit_req [^;]*;\s*)?proxy_pass http://rasa_round_robin;", text
    )
    assert "listen 127.0.0.1:5050;" in text  # the action servers' upstream, loopback only
    actions = re.search(r"upstream action_servers \{(.*?)\}", text, re.S).group(1)
    assert "max_fails=0" in actions  # never "no live upstreams" just after they all restarted
    assert "set_real_ip_from 10.0.0.0/8;" in text
    assert "daemon off;" in text and f"pid {tmp_path}/production/nginx/nginx.pid;" in text
    # The access log carries no query string (tokens, socket ids) and no client address.
    log_format = re.search(r"log_format chatbot_json escape=json(.*?);\n", text, re.S).group(1)
    assert "$request_uri" not in log_format and "$args" not in log_format
    assert "$remote_addr" not in log_format and "$http_x_forwarded_for" not in log_format


def test_nginx_limits_each_client_on_the_chat_endpoints(tmp_path):
    production, env = production_settings(tmp_path, CLIENT_RATE_PER_SECOND="4", CLIENT_RATE_BURST="9")
    text = nginx.config_text(production, env)
    assert "limit_req_zone $binary_remote_addr zone=chat_per_client:10m rate=4r/s;" in text
    assert "limit_req_status 429;" in text
    for location in ("/webhooks/", "/socket.io/"):
        block = re.search(rf"location {re.escape(location)} \{{(.*?)\}}", text, re.S).group(1)
        assert "limit_req zone=chat_per_client burst=9 nodelay;" in block, location
    # Health checks and the action servers' loopback upstream are not limited.
    for location in ("= /nginx-health", "= /"):
        block = re.search(rf"location {re.escape(location)} \{{(.*?)\}}", text, re.S).group(1)
        assert "limit_req" not in block, location


def test_nginx_accepts_the_generated_configuration(tmp_path):
    production, env = production_settings(tmp_path)
    path = nginx.write_config(production, env)
    assert nginx.check(production, path) is None


def test_telegram_webhook_path_goes_to_the_bridge(tmp_path):
    production, env = production_settings(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram/hook",
    )
    text = nginx.config_text(production, env)
    assert re.search(r"location = /telegram/hook \{\s*proxy_pass http://127.0.0.1:8088;", text)


def test_setup_script_finds_nginx_quickly():
    result = subprocess.run(
        ["bash", "scripts/setup_production.sh"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "nginx version" in result.stdout
