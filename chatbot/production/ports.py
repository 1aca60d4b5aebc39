"""Who is listening on a port: so the supervisor never takes a stranger for its own process.

Seen 2026-12-01: with two Rasa ports already taken by other processes, `production up`
said Ready and nginx sent traffic to them, because a health URL that answers says
nothing about *who* answers. Before starting, every port must be free; once a process
answers, the listening socket must belong to it (or to a process it started). Read from
Linux's /proc: the socket's inode in /proc/net/tcp{,6}, and which process holds it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # TCP state in /proc/net/tcp


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Something already listens on host:port (a connection is accepted)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        path = PROC / "net" / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listening_pids(port: int) -> set[int]:
    """Processes holding a socket that listens on `port` (those whose /proc we may read)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    pids: set[int] = set()
    if not wanted:
        return pids
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    pids.add(int(entry.name))
                    break
        except (PermissionError, FileNotFoundError, ProcessLookupError, NotADirectoryError):
            continue
    return pids


def family(pid: int) -> set[int]:
    """The process and every descendant (nginx's workers, a server's children)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def owns_port(pid: int, port: int) -> bool:
    """The listening socket on `port` is held by `pid` or one of its descendants."""
    return bool(listening_pids(port) & family(pid))
