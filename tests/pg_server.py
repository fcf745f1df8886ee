"""A throw-away PostgreSQL cluster for the tests: ``initdb`` in a temporary folder, a server
on a Unix socket there only (no TCP), stopped and removed at the end of the run.

The server binaries come from the system's package manager (Debian: ``postgresql``, under
``/usr/lib/postgresql/<major>/bin``; ``./bootstrap.sh test`` installs it where it may).
``initdb`` refuses to run as root, so as root the cluster is made and run by an unprivileged
user (``postgres`` when the package created it, else ``nobody``) through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


class NoServer(RuntimeError):
    """No PostgreSQL server can be started here; the message says why and what to do."""


def find_bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: ``PG_BINDIR``, else ``pg_config --bindir``,
    else the newest ``/usr/lib/postgresql/*/bin``, else ``initdb`` on PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise NoServer(
        "no PostgreSQL server binaries (initdb, pg_ctl) found: install the system package "
        "(Debian/Ubuntu: apt-get install postgresql; ./bootstrap.sh test does it as root) or "
        "set PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> tuple[list[str], str | None]:
    """The command prefix that runs a server command as an unprivileged user, and the user
    (none when not root)."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    if not runuser:
        raise NoServer("running as root and runuser (util-linux) is missing: initdb refuses "
                       "root, so the test cluster cannot be made")
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return [runuser, "-u", user, "--"], user
    raise NoServer("running as root and there is no unprivileged user (postgres, nobody) to "
                   "run the test cluster as")


@dataclass
class PostgresServer:
    """A running throw-away cluster; :meth:`new_database` makes an empty database."""

    root: Path
    port: int
    bindir: Path
    prefix: list[str]

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, dbname: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@/{dbname}?host={self.socket_dir}&port={self.port}"

    def admin(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                        "-m", "fast", "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """initdb in a new temporary folder and start a server on a Unix socket in it."""
    bindir = find_bindir()
    prefix, user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="annotator-pg-"))
    try:
        root.chmod(0o755)  # the socket is there: the tests (another user) must reach it
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        data = root / "data"
        init = subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=300, cwd=root, check=False,
        )
        if init.returncode != 0:
            raise NoServer(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
        port = _free_port()
        # A throw-away cluster: no durability needed, so no fsync (faster tests).
        options = (f"-k {root} -p {port} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        start = subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
             "-o", options, "-w", "-t", "120", "start"],
            capture_output=True, text=True, timeout=180, cwd=root, check=False,
        )
        if start.returncode != 0:
            log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
            raise NoServer(f"the PostgreSQL server did not start: {(start.stderr + log).strip()[-800:]}")
        server = PostgresServer(root=root, port=port, bindir=bindir, prefix=prefix)
        deadline = time.monotonic() + 60
        while True:
            try:
                with server.admin():
                    break
            except Exception as exc:
                if time.monotonic() > deadline:
                    server.stop()
                    raise NoServer(f"the PostgreSQL server does not accept connections: {exc}") from None
                time.sleep(0.2)
        return server
    except BaseException:
        if not (root / "data" / "postmaster.pid").exists():
            shutil.rmtree(root, ignore_errors=True)
        raise
