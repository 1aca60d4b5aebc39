"""The supervisor's check of who listens on a port (chatbot/production/ports.py), on real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from chatbot.production.ports import family, listening_pids, owns_port, port_taken


def test_a_port_we_listen_on_is_ours_and_taken():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_taken(port)
        assert os.getpid() in listening_pids(port)
        assert owns_port(os.getpid(), port)
    assert not port_taken(port)


def test_a_port_another_process_listens_on_is_not_ours(tmp_path):
    """A stranger: started through a shell that exits at once, so it is not our descendant."""
    out = tmp_path / "stranger"
    code = (
        "import os,socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();"
        f"open({str(out)!r},'w').write(f'{{os.getpid()}} {{s.getsockname()[1]}}');time.sleep(30)"
    )
    subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{code}" >/dev/null 2>&1 &'], check=True)
    deadline = time.monotonic() + 10
    while not (out.exists() and out.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pid, port = (int(v) for v in out.read_text().split())
    try:
        assert port_taken(port)
        assert pid not in family(os.getpid())
        assert not owns_port(os.getpid(), port)  # it answers, but it is not ours
        assert owns_port(pid, port)
    finally:
        os.kill(pid, 9)
