"""Command line: ``python -m devstack up|down|fetch-kafka``.

``up`` starts Kafka and PostgreSQL (each unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL already
point elsewhere), gives each service its own Kafka principal and database role on what it
started (devstack.access), writes ``<state>/env`` (shell exports of the development super
users), ``<state>/env.<service>`` (each service's own variables) and ``<state>/devstack.json``
(pids), and runs until SIGINT/SIGTERM, then stops what it started. ``down`` stops a running
``up`` from another terminal (or, if that process died, the servers it left behind).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from devstack._process import pid_matches, terminate_pid
from devstack.access import KafkaListeners, service_environments, write_service_env_files
from devstack.cluster import KafkaCluster, start_cluster
from devstack.kafka import (
    KAFKA_VERSION,
    KafkaError,
    KafkaProcess,
    ensure_kafka_classpath,
    start_kafka,
    stop_kafka_pid,
)
from devstack.postgres import PostgresError, PostgresProcess, start_postgres, stop_postgres_dir

INFO_FILE = "devstack.json"
ENV_FILE = "env"
_SUPERVISOR_MARK = "devstack"
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def repo_root() -> Path:
    """The checkout holding this package (tools/devstack), else the current folder."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "tools" / "devstack").is_dir():
            return parent
    return Path.cwd()


def default_state_dir() -> Path:
    """$DEVSTACK_STATE, else ``<repo root>/.state/devstack``."""
    override = os.environ.get("DEVSTACK_STATE")
    return Path(override) if override else repo_root() / ".state" / "devstack"


class _StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signum)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _read_info(state: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((state / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _section(info: dict[str, Any], name: str) -> dict[str, Any]:
    value = info.get(name)
    return value if isinstance(value, dict) else {}


def _remove_files(state: Path) -> None:
    for name in (INFO_FILE, ENV_FILE):
        (state / name).unlink(missing_ok=True)
    for path in state.glob(f"{ENV_FILE}.*"):  # env.<service>
        path.unlink(missing_ok=True)


def _stop_all(kafka: KafkaProcess | KafkaCluster | None, postgres: PostgresProcess | None) -> None:
    if isinstance(kafka, KafkaCluster):
        kafka.stop()
        print(f"kafka     {len(kafka.nodes)} nodes stopped", flush=True)
    elif kafka is not None:
        code = kafka.stop()
        print(f"kafka     stopped (exit {code})", flush=True)
    if postgres is not None:
        postgres.stop()
        print("postgres  stopped", flush=True)


def _kafka_pids(kafka: KafkaProcess | KafkaCluster | None) -> list[int]:
    if isinstance(kafka, KafkaCluster):
        return [node.process.pid for node in kafka.nodes]
    return [kafka.pid] if kafka is not None else []


def cmd_up(state: Path, brokers: int = 1) -> int:
    state = state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    previous = _read_info(state)
    if previous is not None:
        pid = _int_or_none(previous.get("pid"))
        if pid is not None and pid_matches(pid, _SUPERVISOR_MARK):
            print(
                f"devstack already runs in {state} (pid {pid});"
                " stop it first: python -m devstack down",
                file=sys.stderr,
            )
            return 1
        # A supervisor that died (SIGKILL, reboot) may have left servers behind: stop them first.
        _stop_leftovers(state, previous)
        _remove_files(state)

    for sig in _HANDLED_SIGNALS:
        signal.signal(sig, _raise_stop)
    kafka: KafkaProcess | KafkaCluster | None = None
    postgres: PostgresProcess | None = None
    pg_attempted = False
    exit_code = 0
    try:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
        if bootstrap:
            print(
                f"kafka     {bootstrap}  (KAFKA_BOOTSTRAP_SERVERS is set: not started)", flush=True
            )
        else:
            if brokers > 1:
                kafka = start_cluster(state / "kafka-cluster", brokers=brokers)
                pids = " ".join(str(pid) for pid in _kafka_pids(kafka))
                print(f"kafka     {kafka.bootstrap}  pids {pids}", flush=True)
            else:
                kafka = start_kafka(state / "kafka")
                print(
                    f"kafka     {kafka.bootstrap}  pid {kafka.pid}  log {kafka.log_path}",
                    flush=True,
                )
            bootstrap = kafka.bootstrap
            print(f"          {kafka.sasl_bootstrap}  SASL/SCRAM with ACLs (services)", flush=True)
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if database_url:
            print(f"postgres  {database_url}  (from DATABASE_URL, not started)", flush=True)
        else:
            pg_attempted = True
            postgres = start_postgres(state / "postgres")
            database_url = postgres.url
            print(
                f"postgres  {database_url}  pid {postgres.pid}  log {postgres.log_path}", flush=True
            )

        if kafka is not None or postgres is not None:
            listeners: KafkaListeners | None = kafka
            cluster = kafka if isinstance(kafka, KafkaCluster) else None
            own = service_environments(
                state,
                kafka=listeners,
                bootstrap=bootstrap,
                postgres_url=postgres.url if postgres is not None else None,
                database_url=database_url,
                replication=cluster.replication if cluster else 1,
                min_insync=cluster.min_insync if cluster else None,
            )
            write_service_env_files(state, own)
        _write_atomic(
            state / ENV_FILE,
            f"export KAFKA_BOOTSTRAP_SERVERS={shlex.quote(bootstrap)}\n"
            f"export DATABASE_URL={shlex.quote(database_url)}\n",
        )
        info = {
            "pid": os.getpid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "kafka": {
                "bootstrap": bootstrap,
                "sasl_bootstrap": kafka.sasl_bootstrap if kafka else None,
                "started": kafka is not None,
                "pid": kafka.pid if isinstance(kafka, KafkaProcess) else None,
                "pids": _kafka_pids(kafka),
                "version": KAFKA_VERSION,
                "state_dir": str(kafka.state_dir) if isinstance(kafka, KafkaProcess) else None,
                "log": str(kafka.log_path) if isinstance(kafka, KafkaProcess) else None,
            },
            "postgres": {
                "url": database_url,
                "started": postgres is not None,
                "pid": postgres.pid if postgres else None,
                "state_dir": str(postgres.state_dir) if postgres else None,
                "log": str(postgres.log_path) if postgres else None,
            },
        }
        _write_atomic(state / INFO_FILE, json.dumps(info, indent=2) + "\n")
        print(f"ready     . {state / ENV_FILE}   (Ctrl-C or `down` stops)", flush=True)

        while True:
            time.sleep(1.0)
            if kafka is not None and not kafka.running():
                print(f"kafka exited unexpectedly; see {state}", file=sys.stderr)
                exit_code = 1
                break
            if postgres is not None and not postgres.running():
                print(f"postgres exited unexpectedly; see {postgres.log_path}", file=sys.stderr)
                exit_code = 1
                break
    except _StopRequested:
        pass
    except (KafkaError, PostgresError) as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        exit_code = 1
    finally:
        # A second Ctrl-C must not cut the clean shutdown short.
        for sig in _HANDLED_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            _stop_all(kafka, postgres)
            if pg_attempted and postgres is None:
                # Interrupted inside start_postgres: the server may be up without our handle.
                stop_postgres_dir(state / "postgres")
        finally:
            _remove_files(state)
    return exit_code


def _stop_leftovers(state: Path, info: dict[str, Any]) -> list[str]:
    stopped: list[str] = []
    kafka = _section(info, "kafka")
    pids = kafka.get("pids")
    candidates = [_int_or_none(kafka.get("pid"))]
    candidates += [_int_or_none(p) for p in pids] if isinstance(pids, list) else []
    for kafka_pid in dict.fromkeys(p for p in candidates if p is not None):
        if stop_kafka_pid(kafka_pid):
            stopped.append(f"kafka (pid {kafka_pid})")
    pg_state = _section(info, "postgres").get("state_dir")
    if isinstance(pg_state, str) and stop_postgres_dir(Path(pg_state)):
        stopped.append(f"postgres ({pg_state})")
    return stopped


def cmd_down(state: Path) -> int:
    state = state.resolve()
    info = _read_info(state)
    if info is None:
        print(f"devstack: nothing running in {state}")
        return 0
    pid = _int_or_none(info.get("pid"))
    if pid is not None and pid != os.getpid() and pid_matches(pid, _SUPERVISOR_MARK):
        # The supervisor stops its servers itself on SIGTERM (up to 30 s Kafka + 60 s PostgreSQL).
        terminate_pid(pid, timeout=120.0)
        print(f"devstack: stopped supervisor pid {pid}")
    leftovers = _stop_leftovers(state, info)
    for what in leftovers:
        print(f"devstack: stopped {what}")
    _remove_files(state)
    return 0


def cmd_fetch_kafka() -> int:
    started = time.monotonic()
    try:
        lib = ensure_kafka_classpath()
    except KafkaError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    jars = len(list(lib.glob("*.jar")))
    elapsed = time.monotonic() - started
    print(f"kafka {KAFKA_VERSION} classpath: {lib} ({jars} jars, {elapsed:.1f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start Kafka and PostgreSQL and run until interrupted"),
        ("down", "stop the stack started by `up` in the same state folder"),
    ):
        sub = commands.add_parser(name, help=text)
        if name == "up":
            sub.add_argument("--brokers", type=int, default=1, help="Kafka nodes (3: a quorum)")
        sub.add_argument(
            "--state",
            type=Path,
            default=None,
            help=f"state folder (default: $DEVSTACK_STATE or {default_state_dir()})",
        )
    commands.add_parser("fetch-kafka", help="resolve and cache the Kafka classpath only")
    args = parser.parse_args(argv)
    if args.command == "fetch-kafka":
        return cmd_fetch_kafka()
    state: Path = args.state if args.state is not None else default_state_dir()
    if args.command == "up":
        return cmd_up(state, args.brokers)
    return cmd_down(state)


if __name__ == "__main__":
    sys.exit(main())
