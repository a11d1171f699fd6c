"""A throwaway PostgreSQL + PostGIS server for the tests and benchmarks.

`PostgresServer` runs Debian's PostgreSQL binaries (installed by scripts/install_postgis.sh):
`initdb` into a temporary directory, `pg_ctl start` on a free port on 127.0.0.1, and at exit
(also on errors, and from atexit) `pg_ctl stop -m fast` and removal of the directory.
PostgreSQL refuses to run as root, so when we are root the server runs as the unprivileged
`postgres` user the Debian package creates.

    with PostgresServer() as server:          # fast=True: fsync off, for tests
        url = server.create_database("t1")    # a fresh database with PostGIS
        psycopg.connect(url)

Fresh databases are cloned from a template database (`marsad_template`, PostGIS already
created in it), which is much faster than CREATE EXTENSION postgis every time.

`ExternalServer(url)` does the same database management against an already running server
(the tests use it when $MARSAD_TEST_PG is set).

For benchmarks, `python tests/pgserver.py --hold` starts a server with normal durability
settings, prints its URL and keeps it running until SIGTERM/SIGINT.

Only psycopg (a base dependency of marsad) is needed; nothing here depends on pytest.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self
from urllib.parse import quote, urlsplit, urlunsplit

INSTALL_HINT = "run `bash scripts/install_postgis.sh` (as root) to install PostgreSQL 15 + PostGIS"
TEMPLATE = "marsad_template"
SUPERUSER = "marsad"
# Settings that trade crash safety for speed; fine for a database that is thrown away.
FAST_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    """The test server could not be found, started or used; the message says why."""


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres: `pg_config --bindir`, else the newest
    /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: str) -> tuple[int, ...]:
        v = Path(path).parent.name
        return tuple(int(x) for x in v.split(".") if x.isdigit()) or (0,)

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                           key=version, reverse=True)]
    for d in candidates:
        if all((d / exe).is_file() and os.access(d / exe, os.X_OK)
               for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    looked = ", ".join(str(d) for d in candidates) or "no pg_config, no /usr/lib/postgresql/*/bin"
    raise PostgresError(f"PostgreSQL server binaries (initdb, pg_ctl) not found (looked in: "
                        f"{looked}); {INSTALL_HINT}")


def find_sharedir(bindir: Path) -> Path | None:
    """The share directory matching `bindir` (where extension/postgis.control lives)."""
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        try:
            out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout.strip()
            return Path(out)
        except (OSError, subprocess.SubprocessError):
            pass
    # Debian layout: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
    guess = Path("/usr/share/postgresql") / bindir.parent.name
    return guess if guess.is_dir() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_dbname(url: str, dbname: str) -> str:
    """`url` (postgresql://user@host:port/db?params) with its database replaced by `dbname`."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise PostgresError(f"not a postgresql:// URL: {url!r}")
    return urlunsplit(parts._replace(path="/" + quote(dbname)))


def _check_name(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"database name {name!r}: use lowercase letters, digits and _ "
                         f"(at most 63, not starting with a digit)")
    return name


def random_name(prefix: str = "t") -> str:
    prefix = re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).strip("_") or "t"
    if not prefix[0].isalpha():
        prefix = "t_" + prefix
    return f"{prefix[:50]}_{secrets.token_hex(4)}"


class _Databases:
    """Creating and dropping PostGIS databases on a server reachable as `self.url`."""

    url: str

    def __init__(self) -> None:
        self._template_ready = False
        self._lock = threading.Lock()

    def _connect(self, dbname: str = "postgres"):
        try:
            import psycopg
        except ImportError as e:  # pragma: no cover - psycopg is a base dependency
            raise PostgresError("psycopg is not installed: pip install 'psycopg[binary]>=3.1'") from e
        return psycopg.connect(with_dbname(self.url, dbname), autocommit=True, connect_timeout=30)

    def database_url(self, name: str) -> str:
        return with_dbname(self.url, name)

    def _ensure_template(self) -> None:
        """Create `marsad_template` with PostGIS once (reused if a complete one exists)."""
        if self._template_ready:
            return
        from psycopg import sql

        with self._connect() as con:
            # Another session (another test run on a shared server) may be doing the same.
            con.execute("SELECT pg_advisory_lock(hashtext(%s))", [TEMPLATE])
            try:
                row = con.execute("SELECT datistemplate FROM pg_database WHERE datname = %s",
                                  [TEMPLATE]).fetchone()
                if row is not None and not row[0]:
                    # Left half-made by an interrupted run: start again.
                    con.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                        sql.Identifier(TEMPLATE)))
                    row = None
                if row is None:
                    con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
                    try:
                        with self._connect(TEMPLATE) as tcon:
                            tcon.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                    except Exception as e:
                        raise PostgresError(f"CREATE EXTENSION postgis failed: {e}; "
                                            f"{INSTALL_HINT}") from e
                    # Marked as a template only when complete; no connections, so that
                    # CREATE DATABASE ... TEMPLATE never finds it "being accessed by other users".
                    con.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true "
                                        "ALLOW_CONNECTIONS false").format(sql.Identifier(TEMPLATE)))
            finally:
                con.execute("SELECT pg_advisory_unlock(hashtext(%s))", [TEMPLATE])
        self._template_ready = True

    def create_database(self, name: str | None = None) -> str:
        """Create database `name` (random when None) with PostGIS; return its URL."""
        from psycopg import sql

        name = _check_name(name) if name else random_name()
        with self._lock:
            self._ensure_template()
            with self._connect() as con:
                con.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, closing any connections still open to it."""
        from psycopg import sql

        with self._connect() as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(_check_name(name))))


class ExternalServer(_Databases):
    """An already running server (a postgresql:// URL of a role that may create databases; the
    first use needs to CREATE EXTENSION postgis, i.e. usually a superuser)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        with_dbname(url, "postgres")  # validates the scheme
        self.url = url

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def stop(self) -> None:
        pass


class PostgresServer(_Databases):
    """A PostgreSQL server in a temporary directory, listening on 127.0.0.1:`port`.

    fast=True (default) turns off fsync, full_page_writes and synchronous_commit: fine for tests,
    wrong for benchmarks (use fast=False there). `settings` adds more `-c name=value` options.
    When running as root the server runs as `os_user` (default "postgres").
    """

    def __init__(self, *, fast: bool = True, port: int | None = None,
                 settings: dict[str, str] | None = None, os_user: str = "postgres",
                 base_dir: str | os.PathLike | None = None, postgis: bool = True,
                 start_timeout: int = 60) -> None:
        super().__init__()
        self.fast = fast
        self.settings = {**(FAST_SETTINGS if fast else {}), **(settings or {})}
        self.requested_port = port
        self.os_user = os_user
        self.base_dir = base_dir
        self.postgis = postgis
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.dir: Path | None = None
        self.pid: int | None = None
        self.bindir: Path | None = None
        self.url = ""
        self._run_as: tuple[int, int] | None = None
        self._started = False

    # -- paths -----------------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    @property
    def logfile(self) -> Path:
        assert self.dir is not None
        return self.dir / "log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty server log)"

    # -- running commands as the unprivileged user ------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        env.pop("LANGUAGE", None)
        if self.dir is not None:
            env["HOME"] = str(self.dir)
        return env

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self._run_as is not None:
            uid, gid = self._run_as
            kwargs = {"user": uid, "group": gid, "extra_groups": []}
        return subprocess.run(args, check=False, capture_output=True, text=True, env=self._env(),
                              cwd=self.dir, stdin=subprocess.DEVNULL, timeout=timeout, **kwargs)

    def _resolve_user(self) -> None:
        if os.geteuid() != 0:
            self._run_as = None
            return
        try:
            pw = pwd.getpwnam(self.os_user)
        except KeyError:
            raise PostgresError(
                f"running as root, and PostgreSQL refuses to run as root, but there is no "
                f"unprivileged user {self.os_user!r} to run it as (Debian's postgresql package "
                f"creates `postgres`); {INSTALL_HINT}") from None
        self._run_as = (pw.pw_uid, pw.pw_gid)

    def _make_dir(self) -> Path:
        bases = [self.base_dir] if self.base_dir else [tempfile.gettempdir(), "/tmp"]
        problems = []
        for base in dict.fromkeys(str(b) for b in bases):
            d = Path(tempfile.mkdtemp(prefix="marsad-pg-", dir=base))
            if self._run_as is not None:
                os.chown(d, *self._run_as)
                # The unprivileged user must be able to reach it (e.g. not under /root).
                probe = self._run(["test", "-w", str(d), "-a", "-x", str(d)], timeout=30)
                if probe.returncode != 0:
                    shutil.rmtree(d, ignore_errors=True)
                    problems.append(f"{d} is not reachable by user {self.os_user!r}")
                    continue
            return d
        raise PostgresError("no temporary directory usable by the server: " + "; ".join(problems))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        if self._started:
            return self
        self.bindir = find_bindir()
        if self.postgis:
            share = find_sharedir(self.bindir)
            if share is None or not (share / "extension" / "postgis.control").is_file():
                raise PostgresError(f"PostGIS is not installed for the PostgreSQL in {self.bindir} "
                                    f"(no {share}/extension/postgis.control); {INSTALL_HINT}")
        self._resolve_user()
        self._started = True
        atexit.register(self.stop)
        try:
            self.dir = self._make_dir()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        base = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
                "-A", "trust", "--encoding=UTF8", "--no-sync"]
        res = self._run(base + ["--locale=C.UTF-8"])
        if res.returncode != 0 and "locale" in (res.stderr + res.stdout).lower():
            shutil.rmtree(self.datadir, ignore_errors=True)
            res = self._run(base + ["--no-locale"])
        if res.returncode != 0:
            raise PostgresError(f"initdb failed (exit {res.returncode}):\n{res.stderr or res.stdout}")

    def _start_server(self) -> None:
        attempts = 1 if self.requested_port else 5
        for attempt in range(attempts):
            port = self.requested_port or free_port()
            opts = ["-h", "127.0.0.1", "-p", str(port), "-k", str(self.dir)]
            for k, v in self.settings.items():
                opts += ["-c", f"{k}={v}"]
            res = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                             "-o", shlex.join(opts), "-l", str(self.logfile),
                             "-w", "-t", str(self.start_timeout), "start"],
                            timeout=self.start_timeout + 30)
            if res.returncode == 0:
                self.port = port
                self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
                self.pid = self._read_pid()
                return
            log = self.log_tail()
            port_taken = "could not bind" in log or "already in use" in log
            if port_taken and attempt + 1 < attempts:  # taken between our probe and the start
                continue
            raise PostgresError(f"pg_ctl start failed (exit {res.returncode}): "
                                f"{(res.stderr or res.stdout).strip()}\nserver log:\n{log}")

    def _read_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        """Whether the postmaster process still exists (zombies count as gone)."""
        if self.pid is None:
            return False
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False
        except OSError:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate, then SIGKILL) and remove its
        directory. Safe to call more than once."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        try:
            if self.dir is not None and (self.datadir / "postmaster.pid").exists():
                pg_ctl = str(self.bindir / "pg_ctl")
                for mode in ("fast", "immediate"):
                    try:
                        res = self._run([pg_ctl, "-D", str(self.datadir), "-m", mode, "-w",
                                         "-t", "30", "stop"], timeout=60)
                        if res.returncode == 0:
                            break
                    except subprocess.TimeoutExpired:
                        pass
            if self.is_running():
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                for _ in range(50):
                    if not self.is_running():
                        break
                    time.sleep(0.1)
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PostgresServer {self.url or 'not started'} dir={self.dir}>"


def _hold(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Start a throwaway PostgreSQL + PostGIS server, print its URL and keep it "
                    "running until SIGTERM/SIGINT (then stop it and delete its files).")
    p.add_argument("--hold", action="store_true", required=True,
                   help="start the server and keep it running until killed")
    p.add_argument("--fast", action="store_true",
                   help="fsync/full_page_writes/synchronous_commit off (not for benchmarks)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--database", metavar="NAME",
                   help="also create database NAME with PostGIS and print its URL instead")
    args = p.parse_args(argv)

    def on_signal(signum, frame):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not interrupt stop()
        raise SystemExit(0)  # unwinds the with block: the server is stopped and removed

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        with PostgresServer(fast=args.fast, port=args.port) as server:
            url = server.create_database(args.database) if args.database else server.url
            print(url, flush=True)
            print(f"pgserver: {server.url} (data in {server.dir}); stop with SIGTERM or Ctrl-C",
                  file=sys.stderr, flush=True)
            while True:
                signal.pause()
    except PostgresError as e:
        print(f"pgserver: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_hold())
