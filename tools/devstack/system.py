"""`./dev up [--demo]`: Kafka, PostgreSQL and every service, started locally; Ctrl-C stops all.

The services run as the same commands their containers run (`python -m services.<name>`), each
with least privilege as in production: its own Kafka principal on the broker's SASL listener
(ACLs of servicekit.kafka_access) and its own database role (servicekit.db_access).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from socialwork_contracts.topics import MANIFEST

from devstack.__main__ import default_state_dir
from devstack.access import KafkaListeners, service_environments, write_service_env_files
from devstack.cluster import KafkaCluster, start_cluster
from devstack.kafka import KafkaProcess, start_kafka
from devstack.postgres import PostgresProcess, start_postgres

# `--replicas N`: instance n (from 0) of a service listens on its port + 10 n (8001, 8011, ...).
REPLICA_PORT_STEP = 10


def instance_port(port: int, instance: int) -> int:
    """The HTTP port of a service's `instance`-th copy (0 is the service's own port)."""
    return port + REPLICA_PORT_STEP * instance


def instance_log(state: Path, name: str, instance: int) -> Path:
    suffix = "" if instance == 0 else f"-{instance + 1}"
    return state / "logs" / f"{name}{suffix}.log"


def dev_secret(state: Path, variable: str = "AUTH_JWT_SECRET", file: str = "dev-secret") -> str:
    """A secret from the environment, else one generated once for this checkout."""
    if os.environ.get(variable):
        return os.environ[variable]
    path = state / file
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not ready after {timeout}s; see {log}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev up")
    parser.add_argument("--demo", action="store_true", help="load the demo data once started")
    parser.add_argument("--state", type=Path, default=default_state_dir())
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="Kafka nodes (3: a KRaft quorum, topics replicated 3 with min.insync.replicas 2)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help=f"instances of every service; instance n listens on its port + {REPLICA_PORT_STEP}n",
    )
    args = parser.parse_args(argv)
    if args.brokers < 1 or args.replicas < 1 or args.replicas > 9:
        parser.error("--brokers must be at least 1 and --replicas between 1 and 9")
    state: Path = args.state
    state.mkdir(parents=True, exist_ok=True)
    (state / "logs").mkdir(exist_ok=True)

    kafka: KafkaProcess | KafkaCluster | None = None
    postgres: PostgresProcess | None = None
    services: list[subprocess.Popen[bytes]] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            if args.brokers > 1:
                kafka = start_cluster(state / "kafka-cluster", brokers=args.brokers)
            else:
                kafka = start_kafka(state / "kafka")
            bootstrap = kafka.bootstrap
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = start_postgres(state / "postgres")
            database_url = postgres.url
        # Development super users (anonymous PLAINTEXT listener, postgres): for tools and tests.
        (state / "env").write_text(
            f"export KAFKA_BOOTSTRAP_SERVERS={bootstrap}\nexport DATABASE_URL={database_url}\n",
            encoding="utf-8",
        )
        listeners: KafkaListeners | None = kafka
        replication = kafka.replication if isinstance(kafka, KafkaCluster) else 1
        own = service_environments(
            state,
            kafka=listeners,
            bootstrap=bootstrap,
            postgres_url=postgres.url if postgres is not None else None,
            database_url=database_url,
            replication=replication,
            min_insync=kafka.min_insync if isinstance(kafka, KafkaCluster) else None,
        )
        write_service_env_files(state, own)
        if kafka is not None:
            print(f"kafka      {kafka.sasl_bootstrap}  (services: SASL/SCRAM, ACLs)")
            if replication > 1:
                print(f"           {args.brokers} nodes, topics replicated {replication}")
            print(f"           {bootstrap}  (PLAINTEXT, super user: development tools only)")
        else:
            print(f"kafka      {bootstrap}")
        print(f"postgresql {database_url}" + ("  (services: a role each)" if postgres else ""))
        print(f"           each service's variables: {state}/env.<service>")
        env = {
            **os.environ,
            "AUTH_JWT_SECRET": dev_secret(state),
            "METRICS_TOKEN": dev_secret(state, "METRICS_TOKEN", "metrics-token"),
            "HTTP_HOST": "127.0.0.1",
        }
        for spec in MANIFEST:  # every service of the manifest
            # One instance after the other: two creating a schema at once race (tests/faults).
            for instance in range(args.replicas):
                port = instance_port(spec.port, instance)
                log = instance_log(state, spec.name, instance)
                proc = subprocess.Popen(
                    [sys.executable, "-m", f"services.{spec.name}"],
                    env={**env, **own[spec.name], "HTTP_PORT": str(port)},
                    stdout=log.open("ab"),
                    stderr=subprocess.STDOUT,
                )
                services.append(proc)
                url = f"http://127.0.0.1:{port}"
                wait_ready(url, proc, log)
                print(f"{spec.name:<10} {url}  (API docs {url}/docs, log {log})")
        if args.demo:
            from devstack.demo import load_demo

            load_demo(
                {s.name: f"http://127.0.0.1:{s.port}" for s in MANIFEST}, env["AUTH_JWT_SECRET"]
            )
        print("token:     ./dev token --role city_admin --sub me")
        print("running; Ctrl-C stops everything")
        while not stopping and all(p.poll() is None for p in services):
            time.sleep(0.5)
        return 0
    finally:
        for proc in services:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in services:
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
        if postgres is not None:
            postgres.stop()
        if kafka is not None:
            kafka.stop()
        print("stopped")


if __name__ == "__main__":
    raise SystemExit(main())
