"""A real local PostgreSQL server for development and tests: initdb + pg_ctl in a state folder.

The server listens on 127.0.0.1 and a free port, keeps its Unix socket inside the state folder,
and trusts local connections (development only). Durability settings are PostgreSQL's
defaults, so crash tests (:meth:`PostgresProcess.crash`) exercise real recovery.

PostgreSQL refuses to run as root. When this code runs as root (as on our CI machines), the
server and initdb run as the ``postgres`` OS user through ``runuser``; the data folder is
chowned to that user, and folders on the way to the state folder get the search (x) bit for
others where that user could not otherwise reach it.
"""

from __future__ import annotations

import glob
import grp
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Final

from devstack._process import Logged, pid_matches, tail
from devstack.ports import LOCALHOST, free_port, port_is_open

DATABASE: Final = "socialwork"
SUPERUSER: Final = "postgres"
OS_USER: Final = "postgres"
START_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 60.0
MAX_CONNECTIONS: Final = 200
REQUIRED_TOOLS: Final = ("initdb", "pg_ctl", "postgres")
# sun_path holds 108 bytes; the socket file name ".s.PGSQL.<port>" needs up to 15 of them.
_MAX_SOCKET_DIR_LEN: Final = 90
_INITDB_MARKER: Final = "initdb.complete"
_BIND_ATTEMPTS: Final = 3

log = logging.getLogger(__name__)


class PostgresError(RuntimeError):
    """PostgreSQL could not be found, installed, initialised, started or stopped."""


# --------------------------------------------------------------------------- binaries


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<major>/bin
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in REQUIRED_TOOLS)


def find_pg_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed.

    Tried in order: $DEVSTACK_PG_BINDIR, ``pg_config --bindir``, the newest
    /usr/lib/postgresql/*/bin (Debian's layout), then initdb on PATH (symlinks resolved).
    """
    candidates: list[Path] = []
    override = os.environ.get("DEVSTACK_PG_BINDIR")
    if override:
        candidates.append(Path(override))
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    debian = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates.extend(sorted(debian, key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if _has_server_tools(candidate):
            return candidate
    return None


def install_postgres() -> None:
    """``apt-get install -y postgresql``, quiet and non-interactive; updates the lists if needed."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise PostgresError("PostgreSQL is not installed and apt-get is not available")
    if os.geteuid() != 0:
        raise PostgresError("PostgreSQL is not installed; run: sudo apt-get install -y postgresql")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "-q", "postgresql"]

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )

    result = run(install)
    if result.returncode != 0:  # a fresh machine may have empty or stale package lists
        run([apt_get, "update", "-q"])
        result = run(install)
    if result.returncode != 0:
        raise PostgresError(
            f"apt-get install postgresql failed (exit {result.returncode}):\n"
            + tail(result.stdout + result.stderr)
        )


def ensure_pg_bindir(*, install: bool = True) -> Path:
    """:func:`find_pg_bindir`, installing Debian's postgresql package first when it is absent."""
    found = find_pg_bindir()
    if found is not None:
        return found
    if not install:
        raise PostgresError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    log.warning("PostgreSQL not found: installing it with apt-get")
    install_postgres()
    found = find_pg_bindir()
    if found is None:
        raise PostgresError("apt-get installed postgresql but its binaries were not found")
    return found


def _server_major(bindir: Path) -> str:
    result = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
    if match is None:
        raise PostgresError(f"cannot tell the version of {bindir / 'postgres'}: {result.stdout!r}")
    return match.group(1)


# --------------------------------------------------------------------------- root handling


def ensure_os_user() -> pwd.struct_passwd:
    """The ``postgres`` OS user, created with useradd when missing (root only)."""
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [useradd, "--system", "--no-create-home", "--home-dir", "/var/lib/postgresql"]
    cmd += ["--shell", "/bin/sh"]
    try:
        grp.getgrnam(OS_USER)
        cmd += ["--gid", OS_USER]
    except KeyError:
        cmd += ["--user-group"]
    result = subprocess.run([*cmd, OS_USER], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresError(f"useradd {OS_USER} failed: {result.stderr.strip()}")
    return pwd.getpwnam(OS_USER)


def _can_search(path: Path, user: pwd.struct_passwd, groups: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _grant_search(path: Path, user: pwd.struct_passwd) -> list[Path]:
    """Give others the search bit on path and its ancestors where user lacks it.

    Typical case: pytest's /tmp/pytest-of-root is 0700. Only x is added (no listing, no
    reading), and only where needed. Returns the folders that were changed.
    """
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    changed: list[Path] = []
    for folder in [*reversed(path.parents), path]:
        if not _can_search(folder, user, groups):
            os.chmod(folder, folder.stat().st_mode | stat.S_IXOTH)
            changed.append(folder)
    if changed:
        log.info("gave %s search access to %s", user.pw_name, ", ".join(map(str, changed)))
    return changed


# --------------------------------------------------------------------------- server


class PostgresProcess(Logged):
    """A PostgreSQL server in a state folder, started by :func:`start_postgres`."""

    def __init__(
        self,
        *,
        bindir: Path,
        state_dir: Path,
        port: int,
        database: str = DATABASE,
        run_as: tuple[str, ...] = (),
    ) -> None:
        self.bindir = bindir
        self.state_dir = state_dir
        self.data_dir = state_dir / "data"
        self.socket_dir = state_dir / "run"
        self.log_path = state_dir / "postgres.log"
        self.port = port
        self.database = database
        self._run_as = run_as

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:<port>/socialwork``, the value for DATABASE_URL."""
        return f"postgresql://{SUPERUSER}@{LOCALHOST}:{self.port}/{self.database}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while the server runs, else None."""
        return read_postmaster_pid(self.data_dir)

    def running(self) -> bool:
        return self.pid is not None

    def _pg_ctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        cmd = [*self._run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(
            cmd,
            cwd=self.state_dir,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the postmaster must not get the parent's Ctrl-C
            timeout=timeout + 30,
        )

    def _server_options(self) -> str:
        socket_dir = str(self.socket_dir)
        if len(socket_dir) > _MAX_SOCKET_DIR_LEN:
            socket_dir = ""  # path too long for a Unix socket: TCP only
        options = [
            "-c",
            f"listen_addresses={LOCALHOST}",
            "-p",
            str(self.port),
            "-c",
            f"unix_socket_directories={socket_dir}",
            "-c",
            f"max_connections={MAX_CONNECTIONS}",
        ]
        # pg_ctl hands -o to /bin/sh, so every word is shell-quoted.
        return " ".join(shlex.quote(option) for option in options)

    def start_again(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server (again) on the same port, e.g. after :meth:`stop` or :meth:`crash`."""
        if self.running():
            raise PostgresError(f"PostgreSQL already runs on {self.data_dir} (pid {self.pid})")
        result = self._pg_ctl(
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            self._server_options(),
            "start",
            timeout=timeout,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"pg_ctl start failed (exit {result.returncode}): {result.stdout}{result.stderr}"
                f"\n{self.log_path} ends:\n{self.log_tail()}"
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        pg_isready = self.bindir / "pg_isready"
        deadline = time.monotonic() + timeout
        while True:
            if os.access(pg_isready, os.X_OK):
                probe = [str(pg_isready), "-q", "-h", LOCALHOST, "-p", str(self.port)]
                probe += ["-U", SUPERUSER, "-d", "postgres", "-t", "2"]
                ready = subprocess.run(probe, check=False).returncode == 0
            else:
                ready = port_is_open(self.port)
            if ready:
                return
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"PostgreSQL did not accept connections within {timeout:.0f} s;"
                    f" {self.log_path} ends:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _stop(self, mode: str, timeout: float) -> None:
        if not self.running():
            return
        result = self._pg_ctl("stop", "-m", mode, "-w", "-t", str(int(timeout)), timeout=timeout)
        if result.returncode != 0 and self.running():
            raise PostgresError(
                f"pg_ctl stop -m {mode} failed (exit {result.returncode}):"
                f" {result.stdout}{result.stderr}"
            )

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Clean shutdown (``pg_ctl stop -m fast``); harmless when already stopped."""
        self._stop("fast", timeout)

    def crash(self, timeout: float = STOP_TIMEOUT) -> None:
        """Simulate a crash (``pg_ctl stop -m immediate``): the next start runs WAL recovery."""
        self._stop("immediate", timeout)

    def __repr__(self) -> str:
        return f"PostgresProcess(url={self.url!r}, pid={self.pid})"


def read_postmaster_pid(data_dir: Path) -> int | None:
    """The pid in data_dir/postmaster.pid when that process is alive, else None."""
    try:
        first = (data_dir / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
        pid = int(first.strip())
    except (OSError, ValueError):
        return None
    return pid if pid_matches(pid, "postgres") else None


def _available_locales() -> set[str]:
    locale = shutil.which("locale")
    if locale is None:
        return set()
    result = subprocess.run([locale, "-a"], capture_output=True, text=True, check=False)
    return {name.lower().replace("-", "") for name in result.stdout.split()}


def _prepare_dirs(state_dir: Path, owner: pwd.struct_passwd | None) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    for folder in (state_dir / "data", state_dir / "run"):
        folder.mkdir(mode=0o700, exist_ok=True)
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        os.chmod(folder, 0o700)
    log_path = state_dir / "postgres.log"
    log_path.touch(exist_ok=True)
    if owner is not None:
        os.chown(log_path, owner.pw_uid, owner.pw_gid)
        _grant_search(state_dir, owner)


def _initdb(bindir: Path, state_dir: Path, run_as: tuple[str, ...]) -> None:
    data_dir = state_dir / "data"
    locales = ["C.UTF-8", "C"] if "c.utf8" in _available_locales() else ["C"]
    failure = ""
    for locale in locales:
        cmd = [*run_as, str(bindir / "initdb"), "-D", str(data_dir), "-A", "trust"]
        cmd += ["-U", SUPERUSER, "--encoding=UTF8", f"--locale={locale}"]
        result = subprocess.run(
            cmd,
            cwd=state_dir,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        with (state_dir / "initdb.log").open("a", encoding="utf-8") as out:
            out.write(f"$ {shlex.join(cmd)}\n{result.stdout}{result.stderr}\n")
        if result.returncode == 0:
            (state_dir / _INITDB_MARKER).write_text(f"locale={locale}\n", encoding="utf-8")
            return
        failure = tail(result.stdout + result.stderr)
        _empty_dir(data_dir)
    raise PostgresError(f"initdb failed:\n{failure}")


def _empty_dir(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _ensure_database(bindir: Path, port: int, database: str) -> None:
    """Create database unless it exists (a reused state folder already has it)."""
    where = ["-h", LOCALHOST, "-p", str(port), "-U", SUPERUSER]
    probe = [str(bindir / "psql"), *where, "-d", database, "-X", "-q", "-c", "select 1"]
    if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return
    create = [str(bindir / "createdb"), *where, database]
    result = subprocess.run(create, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresError(f"createdb {database} failed: {result.stderr.strip()}")


def start_postgres(
    state_dir: Path,
    *,
    port: int | None = None,
    database: str = DATABASE,
    timeout: float = START_TIMEOUT,
) -> PostgresProcess:
    """Start PostgreSQL with its data in state_dir, initialising the cluster on first use.

    An existing, initialised state_dir is started as it is (no new initdb). A free port is
    picked unless given. Returns once the server accepts connections and ``database`` exists.
    """
    bindir = ensure_pg_bindir()
    state_dir = state_dir.resolve()
    owner: pwd.struct_passwd | None = None
    run_as: tuple[str, ...] = ()
    if os.geteuid() == 0:
        owner = ensure_os_user()
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        run_as = (runuser, "-u", OS_USER, "--")
    _prepare_dirs(state_dir, owner)

    data_dir = state_dir / "data"
    if (state_dir / _INITDB_MARKER).exists() and (data_dir / "PG_VERSION").exists():
        on_disk = (data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
        if on_disk != _server_major(bindir):
            raise PostgresError(
                f"{data_dir} holds a PostgreSQL {on_disk} cluster but the binaries in {bindir}"
                f" are version {_server_major(bindir)}"
            )
    else:
        _empty_dir(data_dir)  # an interrupted initdb leaves a half-made cluster behind
        _initdb(bindir, state_dir, run_as)

    attempts = _BIND_ATTEMPTS if port is None else 1
    for attempt in range(1, attempts + 1):
        server = PostgresProcess(
            bindir=bindir,
            state_dir=state_dir,
            port=port if port is not None else free_port(),
            database=database,
            run_as=run_as,
        )
        try:
            server.start_again(timeout)
        except PostgresError as exc:
            # Another process may have taken the port between free_port() and the bind.
            if attempt < attempts and "Address already in use" in str(exc):
                continue
            raise
        break
    try:
        _ensure_database(bindir, server.port, database)
    except BaseException:
        server.stop()
        raise
    return server


def stop_postgres_dir(
    state_dir: Path, *, mode: str = "fast", timeout: float = STOP_TIMEOUT
) -> bool:
    """Stop the server whose state is in state_dir (e.g. from a pid file). False if not running."""
    data_dir = state_dir / "data"
    if read_postmaster_pid(data_dir) is None:
        return False
    bindir = ensure_pg_bindir(install=False)
    run_as: tuple[str, ...] = ()
    if os.geteuid() == 0:
        run_as = (shutil.which("runuser") or "/usr/sbin/runuser", "-u", OS_USER, "--")
    cmd = [*run_as, str(bindir / "pg_ctl"), "-D", str(data_dir), "stop", "-m", mode, "-w"]
    cmd += ["-t", str(int(timeout))]
    result = subprocess.run(cmd, cwd=state_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0 and read_postmaster_pid(data_dir) is not None:
        raise PostgresError(f"pg_ctl stop failed: {result.stdout}{result.stderr}")
    return True
