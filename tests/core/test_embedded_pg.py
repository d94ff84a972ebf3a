"""The embedded PostgreSQL helper (platform/config/embedded_pg.py).

Plain pytest: no Django database is used. The base dir lives under <repo>/var/
(not pytest's tmp dir, which is mode 700 under /tmp/pytest-of-root and so not
traversable by `nobody` when the suite runs as root).
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from config.embedded_pg import REPO_ROOT, VAR_DIR, EmbeddedPostgres


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def _processes_using(data_dir: Path, pid: int | None) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] == pid or str(data_dir) in cmdline:
            found.append(proc)
    return found


@pytest.fixture
def base_dir() -> Iterator[Path]:
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / f"test-pg-{uuid.uuid4().hex[:8]}"
    try:
        yield path
    finally:
        # Never leave a server behind, even if the test failed half-way.
        if path.exists():
            try:
                EmbeddedPostgres(path).stop()
            finally:
                shutil.rmtree(path, ignore_errors=True)


def test_start_stop_restart_keeps_data(base_dir: Path) -> None:
    watched = [
        Path("/"),
        REPO_ROOT,
        *REPO_ROOT.parents,
        REPO_ROOT / "platform",
        REPO_ROOT / ".venv",
        EmbeddedPostgres(base_dir).bin_dir,
    ]
    before = {p: _owner_mode(p) for p in watched}
    var_before = _owner_mode(VAR_DIR)

    pg = EmbeddedPostgres(base_dir)
    assert not pg.is_running()

    url = pg.start()
    assert pg.is_running()
    assert url == pg.url
    assert url.startswith("postgres://mallard@127.0.0.1:")
    assert url.endswith("/mallard")
    assert pg.start() == url  # idempotent while running

    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("show max_connections").fetchone() == ("500",)
        assert conn.execute("select current_user, current_database()").fetchone() == (
            "mallard",
            "mallard",
        )
        conn.execute("create table kept (id int primary key, note text)")
        conn.execute("insert into kept values (1, 'survives restart')")

    pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
    assert psutil.pid_exists(pid)

    pg.stop()
    assert not pg.is_running()
    assert not _processes_using(pg.data_dir, pid)
    pg.stop()  # idempotent when stopped

    # A fresh object on the same dir remembers the port and keeps the data.
    pg2 = EmbeddedPostgres(base_dir)
    assert pg2.url == url
    assert pg2.start() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("select note from kept where id = 1").fetchone() == (
            "survives restart",
        )
    pid2 = int((pg2.data_dir / "postmaster.pid").read_text().splitlines()[0])
    pg2.stop()
    assert not pg2.is_running()
    assert not _processes_using(pg2.data_dir, pid2)

    # Nothing outside the base dir changed owner or mode (var/ may at most gain o+x).
    assert {p: _owner_mode(p) for p in watched} == before
    var_after = _owner_mode(VAR_DIR)
    assert var_after[:2] == var_before[:2]
    assert var_after[2] & ~stat.S_IXOTH == var_before[2] & ~stat.S_IXOTH


def test_taken_port_is_replaced(base_dir: Path) -> None:
    import socket

    pg = EmbeddedPostgres(base_dir)
    first = pg.start()
    port = pg.port
    pg.stop()

    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the stopped server's port may sit in TIME_WAIT
        try:
            blocker.bind(("127.0.0.1", port))
            blocker.listen()
        except OSError:
            pass  # something else on this shared machine took the port first: it is taken either way
        pg = EmbeddedPostgres(base_dir)
        try:
            url = pg.start()
            assert url != first
            assert pg.port != port
            with psycopg.connect(url) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        finally:
            pg.stop()
    assert not pg.is_running()
