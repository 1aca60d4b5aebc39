"""Start, watch and stop the production profile: `python -m chatbot production up | down | status`.

`up` prepares the database (created if missing, `alembic upgrade head`, knowledge loaded),
then starts, through chatbot/runner.py like `make run`: N action servers, N Rasa servers
(Redis lock store, PostgreSQL tracker store), the worker, and nginx in front of them. It
stays in the foreground as their supervisor: a process that dies is started again (after
1 s, doubling to 60 s while it keeps dying), and Ctrl-C or SIGTERM stops them all.
`up --detach` runs the same supervisor in the background and returns once everything
answers. The supervisor keeps var/production/state.json (pids, ports, health URLs) for
`status` and `down`, and holds var/production/supervisor.lock while it lives.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from chatbot.config import RASA_TOKEN_ENV, Settings, load_settings, rasa_environment
from chatbot.json_logs import LOG_SOURCE_ENV
from chatbot.privacy.files import PRIVATE_UMASK, keep_private
from chatbot.production import nginx
from chatbot.production.ports import listening_pids, owns_port, port_taken
from chatbot.production.schema import DatabaseError, ensure_database, is_postgresql, migrate
from chatbot.production.settings import (
    ProductionConfigError,
    ProductionSettings,
    load_production_settings,
    production_environment,
)
from chatbot.runner import (
    ACTION_SERVER_HOST_ENV,
    Servers,
    StartError,
    action_server_command,
    api_token,
    latest_model,
    rasa_server_command,
    wait_until_answers,
    worker_command,
)

RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 60.0
# A process that ran this long before dying is restarted after the first delay again.
RESTART_RESET_AFTER = 60.0
NOT_RUNNING = 3  # `status` exit code when nothing runs (as LSB init scripts say)


class ProductionError(RuntimeError):
    """Anything that stops `production up`; the message says what to do."""


class StopRequested(Exception):  # noqa: N818 (a request, not an error)
    """SIGTERM or Ctrl-C while starting: stop what was started, and go."""


@dataclass(frozen=True)
class Component:
    name: str
    kind: str  # actions | rasa | worker | nginx | telegram
    port: int | None
    health: str | None  # a URL that answers 200 while the process is well


def _event(event: str, **fields: object) -> None:
    """One JSON line on stdout, for log shipping: what happened to which process."""
    record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "source": "supervisor"}
    print(json.dumps({**record, "event": event, **fields}), flush=True)


# --- preparing ------------------------------------------------------------------------------


def apply_environment() -> tuple[ProductionSettings, Settings]:
    """Fill in the production defaults in this process's environment (children inherit it)."""
    for name, value in production_environment(os.environ).items():
        os.environ[name] = value
    settings = load_settings()
    try:
        production = load_production_settings(os.environ, settings)
    except ProductionConfigError as error:
        raise ProductionError(str(error)) from None
    return production, settings


def check_redis(settings: Settings) -> None:
    import redis

    client = redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        raise ProductionError(
            f"Redis does not answer at {settings.redis_host}:{settings.redis_port} ({type(error).__name__}). "
            "The Rasa processes need it as their lock store: start it, or set REDIS_HOST / REDIS_PORT."
        ) from None
    finally:
        client.close()


def prepare_database(settings: Settings, say=print) -> None:  # noqa: ANN001
    """Create the database(s) if missing, migrate ours to head, and load knowledge/."""
    from chatbot.knowledge.errors import KnowledgeError
    from chatbot.knowledge.runtime import load_files_into_database
    from chatbot.production.schema import _safe

    try:
        for url in dict.fromkeys([settings.database_url, settings.tracker_store_url]):
            if is_postgresql(url) and ensure_database(url):
                say(f"==> created the database {_safe(url)}")
        report = migrate(settings.database_url)
    except DatabaseError as error:
        raise ProductionError(str(error)) from None
    if report.adopted:
        say(f"==> schema: tables made before migrations matched the models; stamped at {report.after}")
    elif report.before != report.after:
        say(f"==> schema: migrated from {report.before or 'empty'} to {report.after} (alembic upgrade head)")
    else:
        say(f"==> schema: at {report.after} (head)")
    try:
        counts = load_files_into_database(settings.database_url)
    except KnowledgeError as error:
        raise ProductionError(f"knowledge/ is not valid, nothing was started:\n{error}") from None
    say(f"==> knowledge loaded: {counts['services']} services, {counts['areas']} areas")


def prepare_secrets(settings: Settings, say=print) -> str:  # noqa: ANN001
    """Make sure the referral key and the API token exist before several processes race to make them."""
    from chatbot.referrals.crypto import KEY_ENV, KEY_FILE, load_key

    load_key(settings.var_dir)
    if not os.environ.get(KEY_ENV):
        say(
            f"==> note: {KEY_ENV} is not set; using {settings.var_dir / KEY_FILE} "
            "(in production, set it from your secret store: docs/deployment.md)"
        )
    return api_token(settings)


# --- the processes ----------------------------------------------------------------------------


def components(production: ProductionSettings, env: dict[str, str]) -> list[Component]:
    parts = [
        Component(f"actions-{i}", "actions", port, f"http://127.0.0.1:{port}/health")
        for i, port in enumerate(production.action_ports, 1)
    ]
    parts += [
        Component(f"rasa-{i}", "rasa", port, f"http://127.0.0.1:{port}/webhooks/rest/")
        for i, port in enumerate(production.rasa_ports, 1)
    ]
    workers = range(1, production.worker_processes + 1)
    parts += [Component(f"worker-{i}", "worker", None, None) for i in workers]
    parts.append(Component("nginx", "nginx", production.public_port, f"{production.front_door}/nginx-health"))
    if env.get("TELEGRAM_BOT_TOKEN"):
        parts.append(Component("telegram", "telegram", None, None))
    return parts


def build_servers(
    production: ProductionSettings, settings: Settings, token: str, parts: list[Component]
) -> Servers:
    """The processes as chatbot.runner.Servers (the same launch/kill/stop as `make run`)."""
    model = latest_model(settings.project_root)
    env = rasa_environment(settings)
    try:
        config = nginx.write_config(production, env)
    except nginx.TemplateError as error:
        raise ProductionError(f"cannot make nginx's configuration: {error}") from None
    problem = nginx.check(production, config)
    if problem:
        raise ProductionError(f"nginx refuses the generated {config}: {problem}")
    commands: dict[str, list[str]] = {}
    for part in parts:
        if part.kind == "actions":
            commands[part.name] = action_server_command(part.port)
        elif part.kind == "rasa":
            commands[part.name] = rasa_server_command(model, "127.0.0.1", part.port, env["CORS_ORIGINS"])
        elif part.kind == "worker":
            commands[part.name] = worker_command()
        elif part.kind == "nginx":
            commands[part.name] = nginx.command(production, config)
        elif part.kind == "telegram":
            commands[part.name] = [sys.executable, "-m", "chatbot.channels.telegram"]
    # The Telegram bridge talks to the REST channel through the front door, like anyone else.
    env["RASA_URL"] = production.front_door
    servers = Servers(
        settings=settings,
        rasa_url=production.front_door,
        action_url=f"http://127.0.0.1:{production.action_proxy_port}",
        token=token,
        log_dir=production.log_dir,
        commands=commands,
        environment=env,
        private_environment={
            # Each process names itself in JSON log lines (LOG_FORMAT=json).
            **{p.name: {LOG_SOURCE_ENV: p.name} for p in parts},
            # The token only where it is checked; action servers on loopback only (rasa_sdk's
            # default is every interface, and an action server asks for no credentials).
            **{p.name: {RASA_TOKEN_ENV: token, LOG_SOURCE_ENV: p.name} for p in parts if p.kind == "rasa"},
            **{
                p.name: {
                    ACTION_SERVER_HOST_ENV: env.get(ACTION_SERVER_HOST_ENV) or "127.0.0.1",
                    LOG_SOURCE_ENV: p.name,
                }
                for p in parts
                if p.kind == "actions"
            },
        },
    )
    return servers


def start(servers: Servers, parts: list[Component], timeout: float, on_launched=None) -> None:  # noqa: ANN001
    """Launch everything, then wait until each answers (StartError if one does not, or stops)."""
    taken = [f"{p.name} (port {p.port})" for p in parts if p.port and port_taken(p.port)]
    if taken:
        raise ProductionError(
            "these ports are already in use by other processes: "
            + ", ".join(taken)
            + ". Stop those processes, or choose other ports (docs/deployment.md)."
        )
    try:
        for part in parts:
            if part.kind != "telegram":
                servers.launch(part.name)
        if on_launched is not None:
            on_launched()  # the pids are known: `down` can find them even if we die now
        for part in parts:
            if part.health:
                wait_until_answers(part.health, servers, part.name, timeout)
            if part.port and not owns_port(servers.processes[part.name].pid, part.port):
                raise ProductionError(
                    f"port {part.port} answers, but not from the {part.name} this supervisor started "
                    f"(listening: pids {sorted(listening_pids(part.port)) or 'unknown'})."
                )
        # Through the front door: nginx reaches a Rasa process.
        wait_until_answers(f"{servers.rasa_url}/", servers, "nginx", timeout)
        for part in parts:
            if part.kind == "telegram":
                servers.launch(part.name)
    except BaseException:
        servers.stop()
        raise


# --- state, shared with `status` and `down` ---------------------------------------------------


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def read_state(production: ProductionSettings) -> dict | None:
    try:
        return json.loads(production.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _lock_path(production: ProductionSettings) -> Path:
    return production.run_dir / "supervisor.lock"


def supervisor_running(production: ProductionSettings) -> bool:
    """True while a supervisor holds the lock (a stale state file alone does not count)."""
    path = _lock_path(production)
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot, /proc/PID/stat): a pid and this name one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    if fields[0] == "Z":  # a zombie has stopped; only its exit status is left
        return None
    return int(fields[19])  # field 22, starttime


def process_alive(record: dict) -> bool:
    """The recorded process still runs (a pid reused by another process does not count)."""
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    started = start_ticks(pid)
    return started is not None and started == record.get("started")


def _healthy(url: str | None) -> bool | None:
    if not url:
        return None
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


# --- the supervisor ---------------------------------------------------------------------------


class Supervisor:
    def __init__(self, production: ProductionSettings, servers: Servers, parts: list[Component]) -> None:
        self.production = production
        self.servers = servers
        self.parts = parts
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.launched: dict[str, float] = {}
        self.delays: dict[str, float] = {}
        self.restart_at: dict[str, float] = {}
        self.restarts: dict[str, int] = {p.name: 0 for p in parts}

    def write_state(self, state: str) -> None:
        processes = {}
        for part in self.parts:
            proc = self.servers.processes.get(part.name)
            processes[part.name] = {
                **asdict(part),
                "pid": proc.pid if proc is not None and proc.poll() is None else None,
                "started": start_ticks(proc.pid) if proc is not None and proc.poll() is None else None,
                "command": self.servers.commands[part.name],
                "log": str(self.production.log_dir / f"{part.name}.log"),
                "restarts": self.restarts[part.name],
            }
        _write_json(
            self.production.state_file,
            {
                "state": state,
                "supervisor": os.getpid(),
                "started_at": self.started_at,
                "front_door": self.production.front_door,
                "public_base_url": os.environ.get("PUBLIC_BASE_URL", ""),
                "processes": processes,
            },
        )

    def watch(self, stopping) -> None:  # noqa: ANN001 (a callable returning bool)
        now = time.monotonic()
        for part in self.parts:
            self.launched.setdefault(part.name, now)
        while not stopping():
            now = time.monotonic()
            changed = False
            for part in self.parts:
                proc = self.servers.processes.get(part.name)
                if proc is None or part.name in self.restart_at or proc.poll() is None:
                    continue
                ran = now - self.launched[part.name]
                delay = RESTART_FIRST_DELAY if ran >= RESTART_RESET_AFTER else self.delays.get(part.name, 0.0)
                delay = min(RESTART_MAX_DELAY, max(RESTART_FIRST_DELAY, delay))
                self.delays[part.name] = delay * 2
                self.restart_at[part.name] = now + delay
                _event("process_exited", process=part.name, code=proc.returncode, restart_in_s=delay)
                changed = True
            for name, when in list(self.restart_at.items()):
                if now >= when and not stopping():
                    del self.restart_at[name]
                    self.servers.launch(name)
                    self.launched[name] = time.monotonic()
                    self.restarts[name] += 1
                    _event("process_restarted", process=name, pid=self.servers.processes[name].pid)
                    changed = True
            if changed:
                self.write_state("ready")
            time.sleep(0.5)


def up(timeout: float = 300.0) -> int:
    """`production up` in the foreground: prepare, start, supervise until Ctrl-C or SIGTERM."""
    os.umask(PRIVATE_UMASK)  # every process it starts writes owner-only files (chatbot/privacy/files.py)
    keep_private(load_settings().var_dir)  # and what an older version left readable is fixed
    stopping = False
    starting = True

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        if starting:  # waiting for a server to answer: give up at once (start() stops the rest)
            raise StopRequested

    # Explicit handlers: a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        production, settings = apply_environment()
    except ProductionError as error:
        return _fail(str(error))
    production.run_dir.mkdir(parents=True, exist_ok=True)
    lock = open(_lock_path(production), "a+")  # noqa: SIM115 (held for the supervisor's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        state = read_state(production) or {}
        return _fail(
            f"the production profile already runs (supervisor pid {state.get('supervisor', '?')}). "
            "See `python -m chatbot production status`, or stop it with `production down`."
        )
    servers = None
    try:
        check_redis(settings)
        prepare_database(settings)
        token = prepare_secrets(settings)
        parts = components(production, dict(os.environ))
        servers = build_servers(production, settings, token, parts)
        supervisor = Supervisor(production, servers, parts)
        counts = _describe(parts)
        print(f"==> starting {counts} (about 30-90 s) ...", flush=True)
        supervisor.write_state("starting")
        start(servers, parts, timeout, on_launched=lambda: supervisor.write_state("starting"))
        starting = False
        supervisor.write_state("ready")
        _print_ready(production, settings)
        try:
            supervisor.watch(lambda: stopping)
        finally:  # asked to stop, or the supervisor itself failed: never leave children behind
            print("==> stopping ...", flush=True)
            supervisor.write_state("stopping")
            servers.stop(timeout=30)
        print("==> stopped.", flush=True)
        return 0
    except StopRequested:
        starting = False
        if servers is not None:
            servers.stop()
        print("==> stopped before everything had started.", flush=True)
        return 1
    except (ProductionError, StartError) as error:
        starting = False
        if servers is not None:
            servers.stop()
        return _fail(str(error))
    finally:
        starting = False
        production.state_file.unlink(missing_ok=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def _describe(parts: list[Component]) -> str:
    names = {"actions": "action server", "rasa": "Rasa server", "worker": "worker"}
    counted = []
    for kind, name in names.items():
        n = sum(p.kind == kind for p in parts)
        if n:
            counted.append(f"{n} {name}{'s' if n > 1 else ''}")
    extra = " and the Telegram bridge" if any(p.kind == "telegram" for p in parts) else ""
    return ", ".join(counted) + f", nginx{extra}"


def _print_ready(production: ProductionSettings, settings: Settings) -> None:
    public = os.environ.get("PUBLIC_BASE_URL", production.front_door).rstrip("/")
    rasa = ", ".join(f"127.0.0.1:{p}" for p in production.rasa_ports)
    actions = ", ".join(f"127.0.0.1:{p}" for p in production.action_ports)
    print(
        "\nReady.\n"
        f"  Chat page:     {public}/webhooks/web/   (nginx on {production.public_host or '*'}:"
        f"{production.public_port})\n"
        f"  REST channel:  POST {public}/webhooks/rest/webhook\n"
        f"  Rasa servers:  {rasa} (lock store: Redis {settings.redis_host}:{settings.redis_port})\n"
        f"  Action servers: {actions} (through nginx on 127.0.0.1:{production.action_proxy_port})\n"
        f"  Logs:          {production.log_dir}\n"
        "  Stop:          Ctrl-C here, or `python -m chatbot production down`",
        flush=True,
    )


def up_detached(timeout: float = 300.0) -> int:
    os.umask(PRIVATE_UMASK)  # the supervisor's own log, written from here, is private too
    """`production up --detach`: the same supervisor in the background; returns once all answer."""
    try:
        production, _ = apply_environment()
    except ProductionError as error:
        return _fail(str(error))
    if supervisor_running(production):
        state = read_state(production) or {}
        return _fail(f"the production profile already runs (supervisor pid {state.get('supervisor', '?')}).")
    production.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = production.log_dir / "supervisor.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatbot", "production", "up", "--timeout", str(timeout)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    print(f"==> starting in the background (supervisor pid {proc.pid}, log {log_path}) ...", flush=True)
    deadline = time.monotonic() + timeout + 120
    while time.monotonic() < deadline:
        state = read_state(production)
        if state and state.get("supervisor") == proc.pid and state.get("state") == "ready":
            print(_ready_lines(state), flush=True)
            return 0
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            return _fail("the supervisor stopped before everything answered:\n  " + "\n  ".join(tail))
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    return _fail(f"not ready within {timeout + 120:.0f} s; stopping. See {log_path}.")


def _ready_lines(state: dict) -> str:
    public = (state.get("public_base_url") or state["front_door"]).rstrip("/")
    return (
        f"Ready (supervisor pid {state['supervisor']}).\n"
        f"  Chat page:     {public}/webhooks/web/\n"
        f"  REST channel:  POST {public}/webhooks/rest/webhook\n"
        "  `python -m chatbot production status` shows each process; `production down` stops them."
    )


def status(as_json: bool = False) -> int:
    try:
        production, _ = apply_environment()
    except ProductionError as error:
        return _fail(str(error))
    state = read_state(production)
    running = supervisor_running(production)
    if state is None or not running:
        leftovers = [n for n, r in (state or {}).get("processes", {}).items() if process_alive(r)]
        report = {"running": False, "leftover_processes": leftovers}
        if as_json:
            print(json.dumps(report, indent=2))
        elif leftovers:
            print(f"Not running, but these processes are left: {', '.join(leftovers)} (`production down`).")
        else:
            print("The production profile is not running (`python -m chatbot production up`).")
        return NOT_RUNNING
    rows = {}
    for name, record in state["processes"].items():
        alive = process_alive(record)
        rows[name] = {
            "kind": record["kind"],
            "pid": record["pid"] if alive else None,
            "port": record["port"],
            "alive": alive,
            "healthy": _healthy(record["health"]) if alive else False,
            "restarts": record.get("restarts", 0),
            "log": record["log"],
        }
    front_door = _healthy(f"{state['front_door']}/")
    well = front_door and all(r["alive"] and r["healthy"] is not False for r in rows.values())
    report = {
        "running": True,
        "state": state["state"],
        "healthy": bool(well),
        "supervisor": state["supervisor"],
        "started_at": state["started_at"],
        "front_door": state["front_door"],
        "front_door_healthy": front_door,
        "processes": rows,
    }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"Production profile: {state['state']}, {'healthy' if well else 'NOT healthy'} "
            f"(supervisor pid {state['supervisor']}, since {state['started_at']})"
        )
        print(f"  front door {state['front_door']}: {'answers' if front_door else 'DOES NOT ANSWER'}")
        for name, r in rows.items():
            running = "running" if r["alive"] else "NOT RUNNING"
            health = {True: "ok", False: "NOT OK", None: running}[r["healthy"]]
            port = f"127.0.0.1:{r['port']}" if r["port"] and r["kind"] != "nginx" else (r["port"] or "")
            print(f"  {name:11} pid {r['pid'] or '-':>7}  {port!s:16} {health:12} restarts {r['restarts']}")
    return 0 if well else 1


def down(timeout: float = 60.0) -> int:
    try:
        production, _ = apply_environment()
    except ProductionError as error:
        return _fail(str(error))
    state = read_state(production)
    if state is None and not supervisor_running(production):
        print("The production profile is not running.")
        return 0
    if supervisor_running(production) and state:
        pid = state["supervisor"]
        print(f"==> stopping (supervisor pid {pid}) ...", flush=True)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        # Until the supervisor has really exited, not only released its lock.
        while time.monotonic() < deadline and (
            supervisor_running(production) or start_ticks(pid) is not None
        ):
            time.sleep(0.25)
    # Whatever is left (the supervisor was killed, or did not finish): stop it by process group.
    left = [r for r in (state or {}).get("processes", {}).values() if process_alive(r)]
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        left = [r for r in left if process_alive(r)]
        for record in left:
            try:
                os.killpg(record["pid"], sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while any(process_alive(r) for r in left) and time.monotonic() < deadline:
            time.sleep(0.25)
    if supervisor_running(production):
        return _fail("the supervisor did not stop; see var/production/logs/supervisor.log")
    production.state_file.unlink(missing_ok=True)
    print("==> stopped.")
    return 0
