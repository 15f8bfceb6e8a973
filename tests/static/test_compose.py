"""Static checks of the container path: docker-compose.yml and the Dockerfile, without Docker.

Each rule is a function that returns the problems it finds (an empty list when all is well). The
tests assert that the real files have none, and feed each rule a broken copy to show that it
does catch what it is meant to catch.
"""

from __future__ import annotations

import ast
import copy
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from devstack.kafka import AUTHORIZER
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from socialwork_contracts.topics import EVENT_TOPICS, SERVICES, dead_letter_topic, service_spec

from servicekit import db_access, kafka_access
from servicekit.kafka_admin import UNLIMITED_RETENTION
from servicekit.settings import KafkaSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SERVE_PY = ROOT / "servicekit" / "serve.py"
RUNTIME_PY = ROOT / "servicekit" / "runtime.py"

Doc = dict[str, Any]
Service = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Reading the files


def load_compose(path: Path = COMPOSE) -> Doc:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path.name} is not a mapping"
    return doc


@pytest.fixture
def compose() -> Doc:
    return load_compose()


@pytest.fixture
def dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`.

    A required variable (`:?`/`?`) that `env` lacks becomes a 32-character placeholder.
    """

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        current = env.get(name)
        if op in (":-", ":?") and not current:
            current = None
        if current is not None:
            return current
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            return "x" * 32
        return ""

    return _VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def environment_of(service: Service) -> dict[str, str]:
    """A service's `environment`, map or list form, values as written (not interpolated)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        env: dict[str, str] = {}
        for item in raw:
            key, _, value = str(item).partition("=")
            env[key] = value
        return env
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def _platform_image_users(doc: Doc) -> dict[str, Service]:
    """Every Compose service built from the Dockerfile, or running the image it builds."""
    services: dict[str, Service] = doc.get("services") or {}
    built = {s.get("image") for s in services.values() if "build" in s}
    return {
        name: s
        for name, s in services.items()
        if "build" in s or (s.get("image") is not None and s.get("image") in built)
    }


def _is_job(service: Service) -> bool:
    return str(service.get("restart", "")) == "no"


def platform_services(doc: Doc) -> dict[str, Service]:
    """The project's own long-running services (the one-shot provisioning jobs excluded)."""
    return {n: s for n, s in _platform_image_users(doc).items() if not _is_job(s)}


def platform_jobs(doc: Doc) -> dict[str, Service]:
    """kafka-init and db-init: the platform image, run once to completion on every `up`."""
    return {n: s for n, s in _platform_image_users(doc).items() if _is_job(s)}


def command_argv(command: object) -> list[str]:
    if isinstance(command, str):
        return shlex.split(command)
    if isinstance(command, list):
        return [str(part) for part in command]
    return []


_SETTINGS_BY_ALIAS = {
    str(info.validation_alias): (name, info) for name, info in ServiceSettings.model_fields.items()
}


def test_every_setting_has_a_plain_alias() -> None:
    """The checks below rely on each setting being read from one environment variable."""
    for name, info in ServiceSettings.model_fields.items():
        assert isinstance(info.validation_alias, str), name


# ---------------------------------------------------------------------------------------------
# (a) the Compose Specification


def validate_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema's vendored copy of the Compose Specification schema (works offline)."""
    argv = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments, no shell
        [*argv, str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_compose_file_matches_the_compose_specification(compose: Doc) -> None:
    result = validate_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "version" not in compose, "the Compose Specification has no `version:` key"


def test_schema_check_rejects_an_invalid_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  registry:\n    image: x\n    restart_policy: always\n")
    result = validate_compose_schema(broken)
    assert result.returncode != 0
    assert "restart_policy" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# (b) each project service's command runs a module that exists


def command_problems(doc: Doc, root: Path = ROOT) -> list[str]:
    services = platform_services(doc)
    problems = [] if services else ["no service is built from the Dockerfile"]
    for name, service in services.items():
        argv = command_argv(service.get("command"))
        if argv[:2] != ["python", "-m"] or len(argv) != 3:
            problems.append(f"{name}: command {argv} is not `python -m services.<name>`")
            continue
        module = argv[2]
        if not re.fullmatch(r"services\.[a-z_]+", module):
            problems.append(f"{name}: {module} is not a services.<name> module")
            continue
        main = root / Path(*module.split(".")) / "__main__.py"
        if not main.is_file():
            problems.append(f"{name}: {main.relative_to(root)} does not exist")
    return problems


def test_every_project_service_runs_an_existing_module(compose: Doc) -> None:
    assert "registry" in platform_services(compose)
    assert command_problems(compose) == []


def test_command_check_catches_a_missing_module(compose: Doc) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["command"] = ["python", "-m", "services.no_such_service"]
    assert any("does not exist" in p for p in command_problems(broken))
    broken["services"]["registry"]["command"] = "uvicorn services.registry.app:app"
    assert any("is not `python -m" in p for p in command_problems(broken))


# ---------------------------------------------------------------------------------------------
# (c) project services set only real settings, every required one, in the right form


def own_settings(service: str) -> set[str]:
    """Environment variables a service reads beyond ServiceSettings (its own settings class)."""
    from services.incubation.app import CheckSettings as IncubationCheckSettings
    from services.reporting.public import PublicSettings
    from services.reporting.settings import ReportingSettings
    from services.supervision.app import CheckSettings

    classes: dict[str, tuple[type[BaseSettings], ...]] = {
        "incubation": (IncubationCheckSettings,),
        "supervision": (CheckSettings,),
        "reporting": (ReportingSettings, PublicSettings),
    }
    return {
        str(i.validation_alias)
        for cls in classes.get(service, ())
        for i in cls.model_fields.values()
    }


def dsn_credentials(url: str) -> tuple[str | None, str | None]:
    """(user, password) of a DSN as written in the file: the password may hold `${VAR:?msg}`."""
    _, sep, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if not sep or not at:
        return None, None
    user, colon, password = userinfo.partition(":")
    return user, password if colon else None


def _is_secret(info: Any) -> bool:
    return info.annotation in (SecretStr, SecretStr | None)


_REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*):\?[^}]+\}")


def environment_problems(doc: Doc) -> list[str]:
    problems: list[str] = []
    for name, service in platform_services(doc).items():
        env = environment_of(service)
        for key in sorted(set(env) - set(_SETTINGS_BY_ALIAS) - own_settings(name)):
            problems.append(f"{name}: {key} is not a setting of ServiceSettings")
        for alias, (_, info) in sorted(_SETTINGS_BY_ALIAS.items()):
            if info.is_required() and alias not in env:
                problems.append(f"{name}: required setting {alias} is not set")
        if "METRICS_TOKEN" not in env:  # optional in code, where unset closes /metrics
            problems.append(f"{name}: METRICS_TOKEN is not set, so /metrics refuses the scraper")
        for key, value in env.items():
            if key not in _SETTINGS_BY_ALIAS:
                continue
            _, info = _SETTINGS_BY_ALIAS[key]
            if _is_secret(info) and not _REQUIRED_VARIABLE.fullmatch(value):
                problems.append(f"{name}: secret {key} must come from the environment (${{VAR:?}})")
            for match in _VAR.finditer(value):
                drifted = match["op"] == ":-" and match["arg"] != str(info.default)
                if match["name"] == key and not info.is_required() and drifted:
                    problems.append(
                        f"{name}: default of {key} is {match['arg']!r}, "
                        f"the code's is {info.default!r}"
                    )
        _, password = dsn_credentials(env.get("DATABASE_URL", ""))
        if password is not None and not _REQUIRED_VARIABLE.fullmatch(password):
            problems.append(f"{name}: the password in DATABASE_URL must be ${{VAR:?}}")
        resolved = {k: interpolate(v, {}) for k, v in env.items() if k in _SETTINGS_BY_ALIAS}
        try:
            ServiceSettings.model_validate(resolved)
        except ValueError as exc:
            problems.append(f"{name}: the environment does not validate: {exc}")
    return problems


def test_project_services_set_exactly_the_known_settings(compose: Doc) -> None:
    assert environment_problems(compose) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda env: env.update(KAFKA_BOOTSTRAP="kafka:19092"), "not a setting"),
        (lambda env: env.pop("DATABASE_URL"), "required setting DATABASE_URL"),
        (lambda env: env.update(AUTH_JWT_SECRET="hunter2"), "must come from the environment"),
        (lambda env: env.update(KAFKA_SASL_PASSWORD="hunter2"), "must come from the environment"),
        (
            lambda env: env.update(
                DATABASE_URL="postgresql://registry:hunter2@postgres/socialwork"
            ),
            "password in DATABASE_URL",
        ),
        (lambda env: env.pop("KAFKA_SASL_PASSWORD"), "does not validate"),
        (lambda env: env.update(METRICS_TOKEN="scrape-me"), "must come from the environment"),
        (lambda env: env.pop("METRICS_TOKEN"), "METRICS_TOKEN is not set"),
        (lambda env: env.update(LOG_LEVEL="${LOG_LEVEL:-DEBUG}"), "the code's is 'INFO'"),
        (lambda env: env.update(HTTP_PORT="eighty"), "does not validate"),
    ],
    ids=[
        "unknown",
        "missing-required",
        "literal-secret",
        "literal-kafka-password",
        "literal-database-password",
        "sasl-without-password",
        "literal-metrics-token",
        "no-metrics-token",
        "default-drift",
        "bad-type",
    ],
)
def test_environment_check_catches(compose: Doc, mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(compose)
    env = environment_of(broken["services"]["registry"])
    mutate(env)
    broken["services"]["registry"]["environment"] = env
    assert any(expected in p for p in environment_problems(broken)), environment_problems(broken)


# ---------------------------------------------------------------------------------------------
# (d) the published port and the health check reach HTTP_PORT


def container_ports(service: Service) -> list[int]:
    ports: list[int] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(int(entry["target"]))
        else:
            ports.append(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def port_problems(doc: Doc) -> list[str]:
    problems: list[str] = []
    default = str(ServiceSettings.model_fields["http_port"].default)
    for name, service in platform_services(doc).items():
        port = int(interpolate(environment_of(service).get("HTTP_PORT", default), {}))
        published = container_ports(service)
        if not published:
            problems.append(f"{name}: publishes no port")
        for target in published:
            if target != port:
                problems.append(f"{name}: publishes container port {target}, HTTP_PORT is {port}")
        hosts = [str(e).rsplit(":", 1)[0] for e in service.get("ports") or [] if ":" in str(e)]
        if name in SERVICES and hosts != [str(service_spec(name).port)]:
            problems.append(
                f"{name}: host port {hosts}, the manifest's is {service_spec(name).port}"
            )
        test = " ".join(command_argv((service.get("healthcheck") or {}).get("test")))
        urls = re.findall(r"http://[^/'\"]+:(\d+)(/[\w/]*)", test)
        if not urls:
            problems.append(f"{name}: the health check calls no HTTP endpoint")
        for url_port, path in urls:
            if int(url_port) != port:
                problems.append(f"{name}: health check calls port {url_port}, HTTP_PORT is {port}")
            if path != "/health/ready":
                problems.append(f"{name}: health check calls {path}, not /health/ready")
    return problems


def test_published_port_and_health_check_use_http_port(compose: Doc) -> None:
    assert port_problems(compose) == []


def test_port_check_catches_a_mismatch(compose: Doc) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["ports"] = ["8000:8080"]
    assert any("container port 8080" in p for p in port_problems(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["environment"]["HTTP_PORT"] = "9000"
    assert any("HTTP_PORT is 9000" in p for p in port_problems(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["ports"] = ["8009:8000"]
    assert any("the manifest's is 8001" in p for p in port_problems(broken))


# ---------------------------------------------------------------------------------------------
# (e) least privilege: the provisioning jobs, Kafka's authentication and ACLs, one role each

JOBS = {
    "kafka-init": ["python", "-m", "servicekit.kafka_access", "provision"],
    "db-init": ["python", "-m", "servicekit.db_access", "provision"],
}


def _variable_of(value: str | None) -> str | None:
    """The NAME of a value that is exactly `${NAME:?message}`, else None."""
    match = _REQUIRED_VARIABLE.fullmatch(value or "")
    return match["name"] if match else None


def job_problems(doc: Doc, root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    jobs = platform_jobs(doc)
    for name, argv in JOBS.items():
        if name not in jobs:
            problems.append(f"{name}: missing (a one-shot job of the platform image)")
            continue
        if command_argv(jobs[name].get("command")) != argv:
            problems.append(f"{name}: command is not {argv}")
        elif not (root / Path(*argv[2].split("."))).with_suffix(".py").is_file():
            problems.append(f"{name}: {argv[2]} does not exist")
    kafka_init = environment_of(jobs.get("kafka-init", {}))
    for user in kafka_access.managed_users():
        variable = kafka_access.password_variable(user)
        if _variable_of(kafka_init.get(variable)) != variable:
            problems.append(f"kafka-init does not set {variable} from the environment")
    try:
        settings = KafkaSettings.model_validate(
            {k: interpolate(v, {}) for k, v in kafka_init.items()}
        )
        if settings.kafka_security_protocol == "PLAINTEXT":
            problems.append("kafka-init talks to Kafka without authentication")
    except ValueError as exc:
        problems.append(f"kafka-init: its Kafka settings do not validate: {exc}")
    if _variable_of(kafka_init.get("KAFKA_SASL_PASSWORD")) is None:
        problems.append("kafka-init: KAFKA_SASL_PASSWORD must be ${VAR:?}")
    db_init = environment_of(jobs.get("db-init", {}))
    for owner in SERVICES:
        variable = db_access.password_variable(owner)
        if _variable_of(db_init.get(variable)) != variable:
            problems.append(f"db-init does not set {variable} from the environment")
    if _variable_of(dsn_credentials(db_init.get("DATABASE_URL", ""))[1]) is None:
        problems.append("db-init: the password in DATABASE_URL must be ${VAR:?}")
    for name, service in platform_services(doc).items():
        depends: dict[str, Any] = service.get("depends_on") or {}
        for job in JOBS:
            if (depends.get(job) or {}).get("condition") != "service_completed_successfully":
                problems.append(f"{name}: does not wait for {job} to complete")
    return problems


def test_provisioning_jobs_run_before_the_services(compose: Doc) -> None:
    assert job_problems(compose) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["services"].pop("db-init"), "db-init: missing"),
        (
            lambda d: d["services"]["kafka-init"].update(command=["python", "-m", "x.y"]),
            "kafka-init: command",
        ),
        (
            lambda d: d["services"]["kafka-init"]["environment"].pop("INTEGRATOR_KAFKA_PASSWORD"),
            "does not set INTEGRATOR_KAFKA_PASSWORD",
        ),
        (
            lambda d: d["services"]["db-init"]["environment"].update(REPORTING_DB_PASSWORD="pw"),
            "does not set REPORTING_DB_PASSWORD",
        ),
        (
            lambda d: d["services"]["reporting"]["depends_on"].pop("db-init"),
            "reporting: does not wait for db-init",
        ),
    ],
    ids=["no-db-init", "kafka-init-command", "integrator-password", "literal", "no-wait"],
)
def test_job_check_catches(compose: Doc, mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert any(expected in p for p in job_problems(broken)), job_problems(broken)


def test_provisioning_creates_the_contract_topics_with_unlimited_retention(compose: Doc) -> None:
    expected = [(t.name, t.partitions) for t in EVENT_TOPICS]
    expected += [(dead_letter_topic(s), 1) for s in platform_services(compose)]
    assert sorted(kafka_access.topics_to_create()) == sorted(expected)
    assert UNLIMITED_RETENTION["retention.ms"] == UNLIMITED_RETENTION["retention.bytes"] == "-1"
    assert sorted(platform_services(compose)) == sorted(SERVICES)


def _listener_protocols(kafka_env: dict[str, str]) -> dict[str, str]:
    pairs = (
        item.split(":", 1) for item in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    return {name.strip(): protocol.strip() for name, protocol in pairs}


def kafka_security_problems(doc: Doc) -> list[str]:
    problems: list[str] = []
    env = environment_of(doc["services"]["kafka"])
    protocols = _listener_protocols(env)
    listeners = [item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")]
    for listener in listeners:
        protocol = protocols.get(listener, listener)
        if not protocol.startswith("SASL_"):
            problems.append(f"kafka: listener {listener} ({protocol}) is not authenticated")
        elif not env.get(f"KAFKA_LISTENER_NAME_{listener}_SASL_ENABLED_MECHANISMS"):
            problems.append(f"kafka: listener {listener} names no SASL mechanism")
    if env.get("KAFKA_AUTHORIZER_CLASS_NAME") != AUTHORIZER:
        problems.append("kafka: no ACLs (KAFKA_AUTHORIZER_CLASS_NAME is not StandardAuthorizer)")
    if set(env.get("KAFKA_SUPER_USERS", "").split(";")) != {"User:admin"}:
        problems.append(f"kafka: super users are {env.get('KAFKA_SUPER_USERS')}, not User:admin")
    if str(env.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "false")).lower() != "false":
        problems.append("kafka: allows everyone where no ACL is found")
    # kafka-init and the services talk to the broker's internal, advertised listener.
    advertised = env["KAFKA_ADVERTISED_LISTENERS"]
    clients = {**platform_services(doc), "kafka-init": platform_jobs(doc).get("kafka-init", {})}
    for name, service in clients.items():
        address = environment_of(service).get("KAFKA_BOOTSTRAP_SERVERS")
        if address is None or f"://{address}" not in advertised:
            problems.append(f"{name}: {address} is not an advertised listener ({advertised})")
    for name, service in platform_services(doc).items():
        service_env = environment_of(service)
        if not service_env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").startswith("SASL_"):
            problems.append(f"{name}: talks to Kafka without authentication")
        if service_env.get("KAFKA_SASL_USERNAME") != name:
            problems.append(f"{name}: Kafka principal is not its own ({name})")
        password = _variable_of(service_env.get("KAFKA_SASL_PASSWORD"))
        if password != kafka_access.password_variable(name):
            problems.append(
                f"{name}: KAFKA_SASL_PASSWORD must be ${{{kafka_access.password_variable(name)}:?}}"
                " (the password kafka-init gives its principal)"
            )
        user, db_password = dsn_credentials(service_env.get("DATABASE_URL", ""))
        if user != name:
            problems.append(f"{name}: database role is {user}, not its own ({name})")
        wanted = db_access.password_variable(name)
        if _variable_of(db_password) != wanted:
            problems.append(f"{name}: the DATABASE_URL password must be ${{{wanted}:?}}")
    return problems


def test_kafka_authenticates_everyone_and_each_service_has_its_own_identity(compose: Doc) -> None:
    assert kafka_security_problems(compose) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["services"]["kafka"]["environment"].update(
                KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="INTERNAL:PLAINTEXT,HOST:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
            ),
            "listener INTERNAL (PLAINTEXT) is not authenticated",
        ),
        (
            lambda d: d["services"]["kafka"]["environment"].pop("KAFKA_AUTHORIZER_CLASS_NAME"),
            "no ACLs",
        ),
        (
            lambda d: d["services"]["kafka"]["environment"].update(
                KAFKA_SUPER_USERS="User:admin;User:ANONYMOUS"
            ),
            "super users",
        ),
        (
            lambda d: d["services"]["incubation"]["environment"].update(
                KAFKA_SASL_USERNAME="registry"
            ),
            "incubation: Kafka principal is not its own",
        ),
        (
            lambda d: d["services"]["incubation"]["environment"].update(
                KAFKA_SASL_PASSWORD="${REGISTRY_KAFKA_PASSWORD:?set it}"
            ),
            "incubation: KAFKA_SASL_PASSWORD must be",
        ),
        (
            lambda d: d["services"]["reporting"]["environment"].update(
                DATABASE_URL="postgresql://socialwork:${POSTGRES_PASSWORD:?x}@postgres:5432/socialwork"
            ),
            "reporting: database role is socialwork",
        ),
        (
            lambda d: d["services"]["registry"]["environment"].update(
                KAFKA_SECURITY_PROTOCOL="PLAINTEXT"
            ),
            "registry: talks to Kafka without authentication",
        ),
    ],
    ids=[
        "plaintext-listener",
        "no-authorizer",
        "anonymous-super-user",
        "shared-principal",
        "borrowed-password",
        "shared-database-user",
        "plaintext-client",
    ],
)
def test_kafka_security_check_catches(compose: Doc, mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    problems = kafka_security_problems(broken)
    assert any(expected in p for p in problems), problems


def test_kafka_broker_never_creates_topics_by_itself(compose: Doc) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]) == "false"
    assert env.get("CLUSTER_ID"), "a fixed CLUSTER_ID keeps the formatted log dir valid"
    registry = compose["services"]["registry"]["depends_on"]
    assert registry["kafka-init"]["condition"] == "service_completed_successfully"
    assert registry["kafka"]["condition"] == registry["postgres"]["condition"] == "service_healthy"


# ---------------------------------------------------------------------------------------------
# (f) the Dockerfile: pinned base, non-root user, the service's conventions


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


PINNED_BASE = re.compile(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?")


def dockerfile_problems(text: str) -> list[str]:
    problems: list[str] = []
    instructions = dockerfile_instructions(text)
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for keyword, rest in instructions:
        if keyword == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args.setdefault(key, value)
        elif keyword == "FROM":
            parts = rest.split()
            image = interpolate(parts[0], args)
            if image not in stages:
                bases.append(image)
            if len(parts) == 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
    if not bases:
        problems.append("no FROM")
    for base in bases:
        if not PINNED_BASE.fullmatch(base):
            problems.append(f"base image {base} is not python:3.11.<patch>-slim-bookworm")
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the final stage does not switch to a non-root USER")
    return problems


def test_dockerfile_base_is_pinned_and_user_is_not_root(dockerfile: str) -> None:
    assert dockerfile_problems(dockerfile) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("python:3.11.16-slim-bookworm", "python:3.11-slim-bookworm", "is not python:3.11.<patch>"),
        ("python:3.11.16-slim-bookworm", "python:3.11.16-slim", "is not python:3.11.<patch>"),
        ("USER app:app", "USER root", "non-root USER"),
        ("USER app:app", "", "non-root USER"),
    ],
    ids=["minor-only", "floating-debian", "root", "no-user"],
)
def test_dockerfile_check_catches(dockerfile: str, old: str, new: str, expected: str) -> None:
    assert old in dockerfile
    problems = dockerfile_problems(dockerfile.replace(old, new))
    assert any(expected in p for p in problems), problems


def test_dockerfile_runs_the_registry_as_pid_1_and_checks_liveness(dockerfile: str) -> None:
    instructions = dict(dockerfile_instructions(dockerfile))  # the last of each kind wins
    cmd = command_argv(yaml.safe_load(instructions["CMD"]))
    assert cmd == ["python", "-m", "services.registry"]
    assert (ROOT / "services" / "registry" / "__main__.py").is_file()
    assert instructions["EXPOSE"] == str(ServiceSettings.model_fields["http_port"].default)
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    assert "/health/live" in instructions["HEALTHCHECK"]
    assert "--require-hashes" in dockerfile
    assert "--no-deps" in dockerfile


# ---------------------------------------------------------------------------------------------
# (g) the grace period outlasts the service's own graceful shutdown


def _keyword_seconds(source: str, keyword: str, *, within: str | None = None) -> float:
    """The numeric value passed as `keyword=` (optionally only inside function `within`)."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, int | float)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    scopes: list[ast.AST] = [tree]
    if within is not None:
        scopes = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name == within
        ]
    total = 0.0
    for scope in scopes:
        for node in ast.walk(scope):
            if isinstance(node, ast.keyword) and node.arg == keyword:
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, int | float):
                    total += value.value
                elif isinstance(value, ast.Name) and value.id in constants:
                    total += constants[value.id]
    return total


def graceful_shutdown_seconds() -> float:
    """uvicorn's drain (serve.py) plus the relay's bounded stop (stop_runtime in runtime.py)."""
    drain = _keyword_seconds(SERVE_PY.read_text(encoding="utf-8"), "timeout_graceful_shutdown")
    assert drain > 0, "timeout_graceful_shutdown= not found in servicekit/serve.py"
    relay = _keyword_seconds(
        RUNTIME_PY.read_text(encoding="utf-8"), "timeout", within="stop_runtime"
    )
    return drain + relay


def duration_seconds(value: object) -> float:
    """A Compose duration: `40s`, `1m30s`, `1h`, `500ms` (a bare number is seconds)."""
    text = str(value)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def grace_problems(doc: Doc, needed: float) -> list[str]:
    problems = []
    for name, service in platform_services(doc).items():
        grace = duration_seconds(service.get("stop_grace_period", "10s"))
        if grace <= needed:
            problems.append(f"{name}: stop_grace_period {grace:g}s <= shutdown {needed:g}s")
        if service.get("stop_signal", "SIGTERM") != "SIGTERM":
            problems.append(f"{name}: stop_signal is not SIGTERM")
    return problems


def test_stop_grace_period_outlasts_graceful_shutdown(compose: Doc) -> None:
    needed = graceful_shutdown_seconds()
    assert needed >= 20
    assert grace_problems(compose, needed) == []


def test_grace_check_catches_a_short_grace_period(compose: Doc) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["stop_grace_period"] = "20s"
    assert grace_problems(broken, graceful_shutdown_seconds())
    del broken["services"]["registry"]["stop_grace_period"]  # Compose's default: 10 s
    assert grace_problems(broken, graceful_shutdown_seconds())


def test_durations_and_keywords_parse() -> None:
    assert duration_seconds("1m30s") == 90
    assert duration_seconds("40s") == 40
    assert duration_seconds(5) == 5
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("forty")
    source = "N = 7\nrun(timeout_graceful_shutdown=N)\nasync def f():\n    wait(timeout=3)\n"
    assert _keyword_seconds(source, "timeout_graceful_shutdown") == 7
    assert _keyword_seconds(source, "timeout", within="f") == 3


# ---------------------------------------------------------------------------------------------
# The lock the image installs from: exact pins of registry packages, the project excluded.

LOCK = ROOT / "requirements.lock"


def lock_problems(text: str, direct: list[str]) -> list[str]:
    """`pip install --no-deps -r requirements.lock` must get every runtime package, pinned."""
    problems: list[str] = []
    names: set[str] = set()
    hashed: list[bool] = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            problems.append(f"option line {line!r}: the image installs the project separately")
            continue
        match = re.fullmatch(
            r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==[^\s;]+(\s*;[^-]*)?(.*)", line
        )
        if not match:
            problems.append(f"{line!r} is not an exact pin name==version")
            continue
        names.add(re.sub(r"[-_.]+", "-", match[1]).lower())
        hashed.append("--hash=" in match[4])
    if any(hashed) and not all(hashed):
        problems.append("some pins have hashes and some not: --require-hashes needs all")
    for project in ("socialwork-contracts", "socialwork-platform"):
        if project in names:
            problems.append(f"{project} is installed from the source tree, not from the lock")
    for requirement in direct:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        if name.lower() not in names and name.lower() != "socialwork-contracts":
            problems.append(f"direct dependency {name} is not in the lock")
    return problems


def _direct_dependencies() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dependencies: list[str] = project["dependencies"]
    return dependencies


def test_requirements_lock_pins_the_runtime_dependencies() -> None:
    assert LOCK.is_file(), "requirements.lock is missing: the Dockerfile installs from it"
    assert lock_problems(LOCK.read_text(encoding="utf-8"), _direct_dependencies()) == []


def test_lock_check_catches_loose_and_local_pins() -> None:
    direct = ["fastapi", "uvicorn[standard]", "socialwork-contracts"]
    assert lock_problems("fastapi==1.0\nuvicorn==0.3 --hash=sha256:ab\n", direct) == [
        "some pins have hashes and some not: --require-hashes needs all"
    ]
    problems = lock_problems("fastapi>=1\n-e ./contracts\nsocialwork-contracts==1.0\n", direct)
    assert any("not an exact pin" in p for p in problems)
    assert any("option line" in p for p in problems)
    assert any("from the source tree" in p for p in problems)
    assert any("uvicorn is not in the lock" in p for p in problems)


# ---------------------------------------------------------------------------------------------
# The operator documents name what the code has.


def doc_problems(configuration: str, operations: str) -> list[str]:
    from socialwork_contracts.topics import DEAD_LETTER_HEADERS

    problems = [
        f"docs/configuration.md does not describe {alias}"
        for alias in _SETTINGS_BY_ALIAS
        if f"| `{alias}` |" not in configuration
    ]
    problems += [
        f"docs/operations.md does not name the dead-letter header {header}"
        for header in DEAD_LETTER_HEADERS
        if f"`{header}`" not in operations
    ]
    # Every variable Compose interpolates (the operator must know to set it).
    compose_variables = {m["name"] for m in _VAR.finditer(COMPOSE.read_text(encoding="utf-8"))}
    problems += [
        f"docs/configuration.md does not describe the Compose variable {name}"
        for name in sorted(compose_variables)
        if f"`{name}`" not in configuration
    ]
    return problems


def test_docs_name_every_setting_and_dead_letter_header() -> None:
    docs = ROOT / "docs"
    configuration = (docs / "configuration.md").read_text(encoding="utf-8")
    operations = (docs / "operations.md").read_text(encoding="utf-8")
    assert doc_problems(configuration, operations) == []
    assert doc_problems("", "") != []
