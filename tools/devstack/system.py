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
from devstack.access import service_environments, write_service_env_files
from devstack.kafka import KafkaProcess, start_kafka
from devstack.postgres import PostgresProcess, start_postgres


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
    args = parser.parse_args(argv)
    state: Path = args.state
    state.mkdir(parents=True, exist_ok=True)
    (state / "logs").mkdir(exist_ok=True)

    kafka: KafkaProcess | None = None
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
        own = service_environments(
            state,
            kafka=kafka,
            bootstrap=bootstrap,
            postgres_url=postgres.url if postgres is not None else None,
            database_url=database_url,
        )
        write_service_env_files(state, own)
        if kafka is not None:
            print(f"kafka      {kafka.sasl_bootstrap}  (services: SASL/SCRAM, ACLs)")
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
        for spec in MANIFEST:  # every service of the manifest, on its own port
            log = state / "logs" / f"{spec.name}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{spec.name}"],
                env={**env, **own[spec.name], "HTTP_PORT": str(spec.port)},
                stdout=log.open("ab"),
                stderr=subprocess.STDOUT,
            )
            services.append(proc)
            url = f"http://127.0.0.1:{spec.port}"
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
