"""A throwaway PostgreSQL cluster for fault tests: initdb'd into a temporary directory, listening
on its own port and socket directory, stopped and restarted at will, deleted afterwards. The
shared cluster (port 5432) is never touched.

initdb refuses to run as root: as root, every PostgreSQL binary runs as the `postgres` OS user
(runuser), in a directory chowned to it; as anyone else, as that user."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def pg_bin() -> Path | None:
    """The directory of initdb/pg_ctl: $PG_BIN, else PATH, else Debian's newest version."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    if found := shutil.which("initdb"):
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def unavailable_reason() -> str | None:
    if pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BIN"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to drop privileges for initdb"
    return None


class Cluster:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.data, self.log = root / "data", root / "server.log"
        self.bin = pg_bin()
        assert self.bin is not None

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale", "C")

    def start(self) -> None:
        # fsync off: a throwaway cluster needs no durability across a power cut (a fast
        # shutdown and restart still write everything); max_connections above the web
        # workers' threads plus the test's own connections.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def wait_accepting(self, timeout: float = 30) -> float:
        """Poll until a connection succeeds; returns the monotonic time it first did."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=1).close()
                return time.monotonic()
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def execute(self, sql: str, db: str = "postgres", params: tuple[object, ...] = ()) -> list:
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            cur = conn.execute(sql, params)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []

    def terminate_connections(self, db: str) -> int:
        """pg_terminate_backend every connection to `db` but ours: what a failover, a DBA or an
        idle-connection killer does to a running server's pool."""
        rows = self.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", params=(db,))
        return int(rows[0][0])


@contextmanager
def throwaway_cluster(port: int) -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    cluster = Cluster(root, port)
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)
