"""A real PostgreSQL server for the tests (a helper module, not a test).

`postgres_server()` yields a server with a fresh, empty database:

* a server already running on localhost (OPS_PG_HOST / OPS_PG_PORT /
  OPS_PG_USER / OPS_PG_PASSWORD, defaults localhost:5432 as postgres) that
  lets us create a database: a throwaway database there, dropped afterwards;
* otherwise a private cluster in a temporary directory on a free port of
  127.0.0.1, started with the binaries of Debian's PostgreSQL package
  (installed with apt-get when missing) and removed afterwards.

PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` system user (created when missing). The tests are skipped, with
the reason, only when PostgreSQL is missing and cannot be installed: no
apt-get, or not root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.system_packages import apt_install, check

POSTGRES_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def dsn(self) -> str:
        password = f" password={self.password}" if self.password else ""
        return f"host={self.host} port={self.port} user={self.user}{password} dbname={self.dbname}"

    def dbt_env(self) -> dict[str, str]:
        """The variables the `postgres` target of dbt_project/profiles.yml reads."""
        return {
            "OPS_PG_HOST": self.host,
            "OPS_PG_PORT": str(self.port),
            "OPS_PG_USER": self.user,
            "OPS_PG_PASSWORD": self.password,
            "OPS_PG_DBNAME": self.dbname,
        }


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    running = _running_server()
    if running is not None:
        with _throwaway_database(running) as server:
            yield server
        return
    with _private_cluster() as server:
        yield server


def _running_server() -> PostgresServer | None:
    """The server on localhost named by OPS_PG_*, when it is up and accepts us."""
    env = os.environ
    server = PostgresServer(
        host=env.get("OPS_PG_HOST", "localhost"),
        port=int(env.get("OPS_PG_PORT", "5432")),
        user=env.get("OPS_PG_USER", POSTGRES_USER),
        password=env.get("OPS_PG_PASSWORD", ""),
        dbname="postgres",
    )
    if server.host not in ("localhost", "127.0.0.1", "::1"):
        return None
    try:
        psycopg2.connect(server.dsn, connect_timeout=3).close()
    except psycopg2.Error:
        return None
    return server


@contextlib.contextmanager
def _throwaway_database(server: PostgresServer) -> Iterator[PostgresServer]:
    dbname = f"ops_test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'create database "{dbname}"')
    try:
        yield PostgresServer(server.host, server.port, server.user, server.password, dbname)
    finally:
        _admin(server, f'drop database if exists "{dbname}" with (force)')


def _admin(server: PostgresServer, statement: str) -> None:
    conn = psycopg2.connect(server.dsn, connect_timeout=10)
    try:
        conn.autocommit = True  # create / drop database refuse to run in a transaction
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@contextlib.contextmanager
def _private_cluster() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin_dir() or _install_postgres()
    as_user = _cluster_user()
    root = Path(tempfile.mkdtemp(prefix="ops-test-postgres-"))
    data = root / "data"
    try:
        if as_user:
            shutil.chown(root, as_user, as_user)
        _run_as(
            as_user,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                POSTGRES_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            cwd=root,
        )
        port = _free_port()
        # a scratch server: durability off, sockets only in its own directory; a session
        # time zone that is neither UTC nor the reporting zone, so that no model may lean on it
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=America/Los_Angeles"
        )
        log = root / "server.log"
        try:
            _run_as(
                as_user,
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
                cwd=root,
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}\nserver log:\n{log.read_text()[-3000:] if log.exists() else ''}") from None
        try:
            server = PostgresServer("127.0.0.1", port, POSTGRES_USER, "", "postgres")
            _admin(server, 'create database "ops"')
            yield PostgresServer("127.0.0.1", port, POSTGRES_USER, "", "ops")
        finally:
            _run_as(as_user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl (Debian's layout)."""
    candidates = [
        Path(path)
        for path in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(Path(path) / "initdb", os.X_OK) and os.access(Path(path) / "pg_ctl", os.X_OK)
    ]
    candidates.sort(key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else -1)
    return candidates[-1] if candidates else None


def _install_postgres() -> Path:
    """apt-get install postgresql (Debian's package); skip the tests only when that is impossible."""
    apt_install("postgresql")
    bin_dir = _postgres_bin_dir()
    assert bin_dir is not None, "apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/initdb was found"
    return bin_dir


def _cluster_user() -> str | None:
    """The user to run the cluster as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        check(
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", POSTGRES_USER],
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
    return POSTGRES_USER


def _run_as(user: str | None, command: list[str], cwd: Path) -> None:
    kwargs = {"user": user, "group": user, "extra_groups": []} if user else {}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    check(subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kwargs))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
