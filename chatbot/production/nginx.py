"""nginx for the production profile: its configuration from deploy/nginx.conf.template, and its command.

nginx runs in the foreground (`daemon off`) as a child of the supervisor, with every path it
writes (pid, logs, temp files) under var/production/, so it never uses the system nginx's
configuration, pid file or logs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from chatbot.config import PROJECT_ROOT
from chatbot.production.settings import ProductionSettings

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
FIELD = re.compile(r"\{\{ *([A-Z_]+) *\}\}")
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class TemplateError(ValueError):
    pass


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace every {{ NAME }}; a field without a value (or a value without a field) is an error."""
    used = set(FIELD.findall(template))
    missing = used - set(values)
    unused = set(values) - used
    if missing or unused:
        raise TemplateError(
            f"template fields without values: {sorted(missing)}; values without fields: {sorted(unused)}"
        )
    return FIELD.sub(lambda m: values[m.group(1)], template)


def _servers(ports: tuple[int, ...]) -> str:
    # max_fails/fail_timeout: a process that refuses a connection is left out for 5 s.
    return "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports)


def _action_servers(ports: tuple[int, ...]) -> str:
    # Never left out: when every action server had failed (all restarting at once), nginx
    # would answer "no live upstreams" for 5 s after they were back. A refused connection
    # on loopback costs nothing, and nginx tries the next server at once.
    return "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in ports)


def _listen(host: str, port: int) -> str:
    if host in ("", "*", "0.0.0.0"):
        return str(port)
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _telegram_location(env: Mapping[str, str]) -> str:
    """In Telegram's webhook mode, the path of TELEGRAM_WEBHOOK_URL goes to the bridge."""
    if not env.get("TELEGRAM_BOT_TOKEN") or env.get("TELEGRAM_MODE", "polling") != "webhook":
        return ""
    path = urlsplit(env.get("TELEGRAM_WEBHOOK_URL", "")).path or "/"
    if not re.fullmatch(r"/[A-Za-z0-9/_.-]*", path):
        raise TemplateError(f"TELEGRAM_WEBHOOK_URL has a path nginx cannot take as is: {path!r}")
    listen = env.get("TELEGRAM_WEBHOOK_LISTEN") or "127.0.0.1"
    port = env.get("TELEGRAM_WEBHOOK_PORT") or "8088"
    return (
        f"\n        location = {path} {{\n"
        f"            proxy_pass http://{listen}:{port};\n"
        f"            proxy_set_header Host $host;\n"
        f"        }}\n"
    )


def _real_ip(sources: tuple[str, ...]) -> str:
    """Behind a TLS proxy: take the client's address from X-Forwarded-For set by these proxies."""
    if not sources:
        return ""
    for source in sources:
        if not re.fullmatch(r"[0-9A-Fa-f.:/]+|unix:", source):
            raise TemplateError(f"REAL_IP_FROM: {source!r} is not an address or CIDR range")
    lines = [f"    set_real_ip_from {source};" for source in sources]
    return "\n".join([*lines, "    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;", ""])


def config_text(production: ProductionSettings, env: Mapping[str, str], template: Path = TEMPLATE) -> str:
    nginx_dir = production.run_dir / "nginx"
    return render(
        template.read_text(encoding="utf-8"),
        {
            "WORKER_PROCESSES": "1",
            "RUN_DIR": str(nginx_dir),
            "LOG_DIR": str(production.log_dir),
            "REAL_IP": _real_ip(production.real_ip_from),
            "RASA_SERVERS": _servers(production.rasa_ports),
            "ACTION_SERVERS": _action_servers(production.action_ports),
            "PUBLIC_LISTEN": _listen(production.public_host, production.public_port),
            "ACTION_PROXY_PORT": str(production.action_proxy_port),
            "TELEGRAM_LOCATION": _telegram_location(env),
            "CLIENT_RATE": str(production.client_rate_per_second),
            "CLIENT_BURST": str(production.client_rate_burst),
        },
    )


def write_config(production: ProductionSettings, env: Mapping[str, str]) -> Path:
    """Write var/production/nginx/nginx.conf (and the directories nginx writes to)."""
    nginx_dir = production.run_dir / "nginx"
    for name in TEMP_DIRS:
        (nginx_dir / "tmp" / name).mkdir(parents=True, exist_ok=True)
    production.log_dir.mkdir(parents=True, exist_ok=True)
    path = nginx_dir / "nginx.conf"
    path.write_text(config_text(production, env), encoding="utf-8")
    return path


def command(production: ProductionSettings, config: Path) -> list[str]:
    nginx_dir = production.run_dir / "nginx"
    # -e: errors to stderr from the first moment, before the configuration is read (nginx >= 1.19.5),
    # so nothing is ever written to the system nginx's /var/log/nginx/error.log.
    return [production.nginx, "-p", f"{nginx_dir}/", "-c", str(config), "-e", "stderr"]


def check(production: ProductionSettings, config: Path) -> str | None:
    """`nginx -t` on the generated file: None if it is valid, else nginx's complaint."""
    result = subprocess.run(
        [*command(production, config), "-t", "-q"], capture_output=True, text=True, timeout=30
    )
    if result.returncode == 0:
        return None
    return (result.stderr or result.stdout).strip()
