"""Static checks of the Kubernetes base (deploy/k8s/base), offline, as test_compose.py does for
docker-compose.yml: every resource against the Kubernetes API schemas (kubernetes-validate,
strict: an unknown field is an error), then against the code — commands, the variables the
settings read, secrets by reference only, ports, probes, grace period, disruption budgets,
network policies and the provisioning jobs.

Kustomize is not needed: the test assembles the kustomization's resources itself (resources,
labels, images — the only features the base uses, and it refuses others), and compares with
`kubectl kustomize` where kubectl is installed.

Each rule returns the problems it finds; each is also fed a broken copy to show it catches it.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from socialwork_contracts.topics import SERVICES

from servicekit import kafka_access
from servicekit.settings import KafkaSettings, ServiceSettings, StoreSettings
from services.reporting import cli as reporting_cli
from tests.static.test_compose import _is_secret, graceful_shutdown_seconds, own_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
REPLAY = ROOT / "deploy" / "k8s" / "replay"  # created on demand, never applied with the base
# The oldest Kubernetes minor still supported upstream when this was written; the base uses only
# stable APIs (apps/v1, batch/v1, policy/v1, networking.k8s.io/v1).
KUBERNETES_VERSION = "1.33.0"
KUSTOMIZE_FEATURES = {"apiVersion", "kind", "resources", "labels", "images"}
HTTP_PORT = 8000
KAFKA_PORT = 9092
POSTGRES_PORT = 5432
DNS_PORT = 53

Resource = dict[str, Any]

_SETTINGS = {
    str(info.validation_alias): info
    for cls in (ServiceSettings, KafkaSettings)
    for info in cls.model_fields.values()
}
# Settings holding credentials: never a literal value in a manifest. DATABASE_URL carries the
# role's password.
SECRET_SETTINGS = {alias for alias, info in _SETTINGS.items() if _is_secret(info)} | {
    "DATABASE_URL"
}

# ---------------------------------------------------------------------------------------------
# Assembling the base


def _apply_images(resource: Resource, images: list[dict[str, str]]) -> None:
    spec = resource.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    for container in pod.get("containers", []):
        for image in images:
            if container.get("image") == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"


def assemble(base: Path = BASE) -> list[Resource]:
    """The resources `kustomize build` gives for this base."""
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - KUSTOMIZE_FEATURES
    assert not unknown, f"the test assembles only {sorted(KUSTOMIZE_FEATURES)}; found {unknown}"
    resources: list[Resource] = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((base / name).read_text(encoding="utf-8")):
            if doc is not None:
                resources.append(doc)
    for label in kustomization.get("labels", []):
        assert not label.get("includeSelectors") and not label.get("includeTemplates")
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for resource in resources:
        _apply_images(resource, kustomization.get("images", []))
    return resources


@pytest.fixture(scope="module")
def manifests() -> list[Resource]:
    return assemble()


@pytest.fixture(scope="module")
def replay() -> list[Resource]:
    return assemble(REPLAY)


def by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def _key(resource: Resource) -> tuple[str, str]:
    return (resource["kind"], resource["metadata"]["name"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) not here")
@pytest.mark.parametrize("directory", [BASE, REPLAY], ids=["base", "replay"])
def test_assembly_equals_kustomize(directory: Path) -> None:
    rendered = subprocess.run(  # noqa: S603 - fixed arguments
        ["kubectl", "kustomize", str(directory)],  # noqa: S607 - kubectl from PATH, fixed arguments
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    built = {_key(r): r for r in yaml.safe_load_all(rendered) if r}
    assert built == {_key(r): r for r in assemble(directory)}


# ---------------------------------------------------------------------------------------------
# (a) every resource is valid against the Kubernetes schemas


def schema_problems(resources: list[Resource]) -> list[str]:
    problems = []
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{'/'.join(_key(resource))}: {exc.message}")
    return problems


def test_every_resource_matches_the_kubernetes_schema(
    manifests: list[Resource], replay: list[Resource]
) -> None:
    assert len(manifests) >= 4 + 4 + 4 + 2 + 1  # deployments, services, budgets, jobs, config
    assert len(replay) == 1
    assert schema_problems(manifests + replay) == []


def test_schema_check_catches_a_misspelt_field(manifests: list[Resource]) -> None:
    broken = copy.deepcopy(manifests)
    container = by_kind(broken, "Deployment")["registry"]["spec"]["template"]["spec"]
    container["containers"][0]["readinesProbe"] = container["containers"][0].pop("readinessProbe")
    assert any("readinesProbe" in p for p in schema_problems(broken))


# ---------------------------------------------------------------------------------------------
# (b) the Deployments run the services as the code expects


def _container(deployment: Resource) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _config(resources: list[Resource]) -> dict[str, str]:
    """The shared settings of the ConfigMaps the Deployments load with envFrom."""
    data: dict[str, str] = {}
    for config in by_kind(resources, "ConfigMap").values():
        data.update(config.get("data", {}))
    return data


def environment(resources: list[Resource], deployment: Resource) -> dict[str, dict[str, Any]]:
    """Variable -> its source: {"value": ...} or {"secret": (name, key)} or {"config": map}."""
    container = _container(deployment)
    configs = by_kind(resources, "ConfigMap")
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        for key, value in configs[name].get("data", {}).items():
            env[key] = {"value": value, "config": name}
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            env[item["name"]] = {"secret": (ref["name"], ref["key"])}
        elif "valueFrom" in item:
            env[item["name"]] = {"other": item["valueFrom"]}
        else:
            env[item["name"]] = {"value": item.get("value")}
    return env


def deployment_problems(resources: list[Resource], root: Path = ROOT) -> list[str]:
    problems = []
    deployments = by_kind(resources, "Deployment")
    if set(deployments) != set(SERVICES):
        problems.append(f"Deployments {sorted(deployments)} are not the services {SERVICES}")
    for name, deployment in deployments.items():
        container = _container(deployment)
        command = container.get("command", [])
        if command != ["python", "-m", f"services.{name}"]:
            problems.append(f"{name}: command {command} is not python -m services.{name}")
        elif not (root / "services" / name / "__main__.py").is_file():
            problems.append(f"{name}: services/{name}/__main__.py does not exist")
        env = environment(resources, deployment)
        for key in sorted(set(env) - set(_SETTINGS) - own_settings(name)):
            problems.append(f"{name}: {key} is not a setting the service reads")
        for alias, info in sorted(_SETTINGS.items()):
            if info.is_required() and alias not in env:
                problems.append(f"{name}: required setting {alias} is not set")
        for key in sorted(SECRET_SETTINGS & set(env)):
            if "secret" not in env[key]:
                problems.append(f"{name}: {key} must come from a Secret (secretKeyRef)")
        for key in ("DATABASE_URL", "KAFKA_SASL_PASSWORD", "AUTH_JWT_SECRET"):
            if key not in env:
                problems.append(f"{name}: {key} is not set")
        if "METRICS_TOKEN" not in env:
            problems.append(f"{name}: METRICS_TOKEN is not set, so /metrics refuses the scraper")
        if env.get("KAFKA_SASL_USERNAME", {}).get("value") != name:
            problems.append(f"{name}: KAFKA_SASL_USERNAME is not its own principal {name!r}")
        problems += _settings_problems(name, ServiceSettings, env)
        problems += _port_problems(name, container, env)
    return problems


def _secret_keys(env: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, v in env.items() if "secret" in v]


def _settings_problems(
    name: str, settings: type[KafkaSettings], env: dict[str, dict[str, Any]]
) -> list[str]:
    """Whether `settings` validate from the plain values it reads, secrets as placeholders."""
    readable = {str(info.validation_alias) for info in settings.model_fields.values()}
    plain = {k: v["value"] for k, v in env.items() if "value" in v and k in readable}
    try:
        settings.model_validate({**plain, **dict.fromkeys(_secret_keys(env), "x" * 32)})
    except ValueError as exc:
        return [f"{name}: the environment does not validate: {exc}"]
    return []


def _port_problems(name: str, container: dict[str, Any], env: dict[str, Any]) -> list[str]:
    problems = []
    port = int(env.get("HTTP_PORT", {}).get("value", 8000))
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if ports != {"http": port}:
        problems.append(f"{name}: container ports {ports} are not http: HTTP_PORT ({port})")
    for probe, path in (
        ("readinessProbe", "/health/ready"),
        ("livenessProbe", "/health/live"),
        ("startupProbe", "/health/live"),
    ):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") not in ("http", port):
            problems.append(f"{name}: {probe} is not GET {path} on the http port ({get})")
    return problems


def test_deployments_run_the_services_with_their_settings(manifests: list[Resource]) -> None:
    assert deployment_problems(manifests) == []


def _registry_container(resources: list[Resource]) -> dict[str, Any]:
    return _container(by_kind(resources, "Deployment")["registry"])


def _set_env(resources: list[Resource], name: str, value: str) -> None:
    env = _registry_container(resources)["env"]
    env[:] = [e for e in env if e["name"] != name] + [{"name": name, "value": value}]


Mutation = Callable[[list[Resource]], None]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: _registry_container(r).update(command=["python", "-m", "services.regsitry"]),
            "registry: command",
        ),
        (lambda r: _set_env(r, "KAFKA_BOOTSTRAP", "kafka:9092"), "KAFKA_BOOTSTRAP is not a"),
        (lambda r: _set_env(r, "AUTH_JWT_SECRET", "s" * 40), "AUTH_JWT_SECRET must come from"),
        (lambda r: _set_env(r, "DATABASE_URL", "postgresql://a:b@c/d"), "DATABASE_URL must come"),
        (lambda r: _set_env(r, "KAFKA_SASL_USERNAME", "reporting"), "its own principal"),
        (lambda r: _set_env(r, "RELAY_BATCH_SIZE", "many"), "does not validate"),
        (
            lambda r: _registry_container(r)["ports"][0].update(containerPort=8080),
            "container ports",
        ),
        (
            lambda r: _registry_container(r)["readinessProbe"]["httpGet"].update(path="/health"),
            "readinessProbe is not GET /health/ready",
        ),
        (
            lambda r: _registry_container(r)["livenessProbe"]["httpGet"].update(
                path="/health/ready"
            ),
            "livenessProbe is not GET /health/live",
        ),
    ],
)
def test_deployment_check_catches(
    manifests: list[Resource], mutate: Mutation, expected: str
) -> None:
    broken = copy.deepcopy(manifests)
    mutate(broken)
    assert any(expected in p for p in deployment_problems(broken)), deployment_problems(broken)


# ---------------------------------------------------------------------------------------------
# (c) Services, grace period, replicas and disruption budgets


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def availability_problems(resources: list[Resource], needed: float) -> list[str]:
    problems = []
    services = by_kind(resources, "Service")
    budgets = by_kind(resources, "PodDisruptionBudget")
    for name, deployment in by_kind(resources, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        spec = deployment["spec"]["template"]["spec"]
        if not _selects(deployment["spec"]["selector"]["matchLabels"], labels):
            problems.append(f"{name}: its selector does not match its own pods")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace <= needed:
            problems.append(f"{name}: terminationGracePeriodSeconds {grace} <= shutdown {needed}")
        replicas = deployment["spec"].get("replicas", 1)
        if replicas < 2:
            problems.append(f"{name}: {replicas} replica(s); two keep it up through a disruption")
        service = services.get(name)
        if service is None or not _selects(service["spec"]["selector"], labels):
            problems.append(f"{name}: no Service selects its pods")
        elif [p.get("targetPort") for p in service["spec"]["ports"]] not in (["http"], [8000]):
            problems.append(f"{name}: its Service does not target the http port")
        covering = [
            b for b in budgets.values() if _selects(b["spec"]["selector"]["matchLabels"], labels)
        ]
        if len(covering) != 1:
            problems.append(f"{name}: {len(covering)} PodDisruptionBudgets select its pods")
        elif not 0 < covering[0]["spec"].get("minAvailable", 0) < replicas:
            problems.append(f"{name}: its budget leaves no pod evictable or none available")
    return problems


def test_services_budgets_and_grace_period(manifests: list[Resource]) -> None:
    assert availability_problems(manifests, graceful_shutdown_seconds()) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: by_kind(r, "Deployment")["incubation"]["spec"]["template"]["spec"].update(
                terminationGracePeriodSeconds=10
            ),
            "incubation: terminationGracePeriodSeconds",
        ),
        (
            lambda r: by_kind(r, "PodDisruptionBudget")["reporting"]["spec"].update(minAvailable=2),
            "reporting: its budget",
        ),
        (
            lambda r: by_kind(r, "Service")["supervision"]["spec"].update(
                selector={"app.kubernetes.io/name": "supervison"}
            ),
            "supervision: no Service",
        ),
        (lambda r: by_kind(r, "Deployment")["registry"]["spec"].update(replicas=1), "replica"),
    ],
)
def test_availability_check_catches(
    manifests: list[Resource], mutate: Mutation, expected: str
) -> None:
    broken = copy.deepcopy(manifests)
    mutate(broken)
    found = availability_problems(broken, graceful_shutdown_seconds())
    assert any(expected in p for p in found), found


# ---------------------------------------------------------------------------------------------
# (d) network policies: only what must talk talks


def _peers(rule: dict[str, Any]) -> set[str]:
    """Names of the pods a rule allows (app.kubernetes.io/name or k8s-app), or '*' for any."""
    found = set()
    for peer in rule.get("to", rule.get("from", [])) or [{}]:
        labels = peer.get("podSelector", {}).get("matchLabels")
        if labels is None:
            found.add("*")
        else:
            found.add(labels.get("app.kubernetes.io/name") or labels.get("k8s-app", "?"))
    return found


def _ports(rule: dict[str, Any]) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])} or {0}


def allowed(resources: list[Resource], pod_labels: dict[str, str], direction: str) -> set[str]:
    """'<peer>:<port>' pairs the policies selecting these pods allow ('*' any peer, 0 any port).

    None when no policy of that direction selects the pods (then everything is allowed)."""
    kind = "Egress" if direction == "egress" else "Ingress"
    pairs: set[str] = set()
    for policy in by_kind(resources, "NetworkPolicy").values():
        spec = policy["spec"]
        if kind not in spec.get("policyTypes", []):
            continue
        if not _selects(spec["podSelector"].get("matchLabels", {}), pod_labels):
            continue
        pairs.add("(isolated)")
        for rule in spec.get(direction, []):
            pairs |= {f"{peer}:{port}" for peer in _peers(rule) for port in _ports(rule)}
    return pairs


def network_problems(resources: list[Resource]) -> list[str]:
    problems = []
    dns = {f"kube-dns:{DNS_PORT}"}
    wanted_egress = {
        "service": {f"kafka:{KAFKA_PORT}", f"postgresql:{POSTGRES_PORT}"} | dns,
        "kafka-init": {f"kafka:{KAFKA_PORT}"} | dns,
        "db-init": {f"postgresql:{POSTGRES_PORT}"} | dns,
        "reporting-replay": {f"kafka:{KAFKA_PORT}", f"postgresql:{POSTGRES_PORT}"} | dns,
    }
    pods = [
        (name, d["spec"]["template"]["metadata"]["labels"], "service")
        for name, d in by_kind(resources, "Deployment").items()
    ] + [
        (name, j["spec"]["template"]["metadata"]["labels"], name)
        for name, j in by_kind(resources, "Job").items()
    ]
    for name, labels, role in pods:
        egress = allowed(resources, labels, "egress")
        ingress = allowed(resources, labels, "ingress")
        if egress - {"(isolated)"} != wanted_egress.get(role) or "(isolated)" not in egress:
            problems.append(f"{name}: egress allows {sorted(egress)}")
        want_in = {"(isolated)", f"*:{HTTP_PORT}"} if role == "service" else {"(isolated)"}
        if ingress != want_in:
            problems.append(f"{name}: ingress allows {sorted(ingress)}, not {sorted(want_in)}")
    return problems


def test_network_policies_let_only_what_must_talk_talk(
    manifests: list[Resource], replay: list[Resource]
) -> None:
    assert network_problems(manifests + replay) == []


def _drop(resources: list[Resource], kind: str, name: str) -> None:
    resources.remove(by_kind(resources, kind)[name])


def _policy(resources: list[Resource], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = by_kind(resources, "NetworkPolicy")[name]["spec"]
    return spec


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: _policy(r, "socialwork-services-out")["egress"].append({}), "egress allows"),
        (
            lambda r: _policy(r, "socialwork-services-http-in")["ingress"][0].update(ports=[]),
            "ingress allows",
        ),
        (lambda r: _drop(r, "NetworkPolicy", "socialwork-default-deny"), "db-init: ingress"),
        (
            lambda r: _drop(r, "NetworkPolicy", "socialwork-reporting-replay-out"),
            "reporting-replay: egress",
        ),
        (
            lambda r: _policy(r, "socialwork-kafka-init-out")["egress"][0]["ports"][0].update(
                port=9093
            ),
            "kafka-init: egress",
        ),
    ],
)
def test_network_check_catches(
    manifests: list[Resource], replay: list[Resource], mutate: Mutation, expected: str
) -> None:
    broken = copy.deepcopy(manifests + replay)
    mutate(broken)
    assert any(expected in p for p in network_problems(broken)), network_problems(broken)


# ---------------------------------------------------------------------------------------------
# (e) the provisioning jobs mirror docker-compose.yml's kafka-init and db-init


def job_problems(resources: list[Resource]) -> list[str]:
    problems = []
    jobs = by_kind(resources, "Job")
    expected = {
        "kafka-init": ["python", "-m", "servicekit.kafka_access", "provision"],
        "db-init": ["python", "-m", "servicekit.db_access", "provision"],
    }
    for name, command in expected.items():
        if name not in jobs:
            problems.append(f"no Job {name}")
            continue
        container = _container(jobs[name])
        if container.get("command") != command:
            problems.append(f"{name}: command {container.get('command')} is not {command}")
        env = environment(resources, jobs[name])
        for key, source in env.items():
            if (key.endswith("_PASSWORD") or key == "DATABASE_URL") and "secret" not in source:
                problems.append(f"{name}: {key} must come from a Secret (secretKeyRef)")
        if name == "kafka-init":
            for user in kafka_access.managed_users():
                if kafka_access.password_variable(user) not in env:
                    problems.append(f"kafka-init: {kafka_access.password_variable(user)} missing")
            deployed = _config(resources)
            for key in ("KAFKA_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"):
                if env.get(key, {}).get("value") != deployed.get(key):
                    problems.append(f"kafka-init: {key} differs from the services' ConfigMap")
        else:
            for service in SERVICES:
                if f"{service.upper()}_DB_PASSWORD" not in env:
                    problems.append(f"db-init: {service.upper()}_DB_PASSWORD missing")
    return problems


def test_jobs_provision_topics_acls_and_roles(manifests: list[Resource]) -> None:
    assert job_problems(manifests) == []


def _job_env(resources: list[Resource], job: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = _container(by_kind(resources, "Job")[job])["env"]
    return env


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: _job_env(r, "kafka-init").pop(
                next(
                    i
                    for i, e in enumerate(_job_env(r, "kafka-init"))
                    if e["name"] == "INTEGRATOR_KAFKA_PASSWORD"
                )
            ),
            "INTEGRATOR_KAFKA_PASSWORD missing",
        ),
        (
            lambda r: _job_env(r, "kafka-init").append(
                {"name": "KAFKA_MIN_INSYNC_REPLICAS", "value": "1"}
            ),
            "KAFKA_MIN_INSYNC_REPLICAS differs",
        ),
        (
            lambda r: _job_env(r, "db-init").append({"name": "REGISTRY_DB_PASSWORD", "value": "x"}),
            "REGISTRY_DB_PASSWORD must come from a Secret",
        ),
    ],
)
def test_job_check_catches(manifests: list[Resource], mutate: Mutation, expected: str) -> None:
    broken = copy.deepcopy(manifests)
    mutate(broken)
    assert any(expected in p for p in job_problems(broken)), job_problems(broken)


def test_no_secret_value_is_in_the_base() -> None:
    """Secrets are referenced (secretKeyRef), never written: the base holds no Secret at all."""
    for directory in (BASE, REPLAY):
        written = "".join(p.read_text(encoding="utf-8") for p in directory.glob("*.yaml"))
        assert "kind: Secret" not in written


# ---------------------------------------------------------------------------------------------
# (f) the reporting replay Job: the replay command, with reporting's privileges and no more


def replay_problems(base: list[Resource], replay: list[Resource]) -> list[str]:
    problems = []
    jobs = by_kind(replay, "Job")
    if set(jobs) != {"reporting-replay"}:
        return [f"the replay's Jobs are {sorted(jobs)}, not reporting-replay"]
    job = jobs["reporting-replay"]
    container = _container(job)
    service = _container(by_kind(base, "Deployment")["reporting"])
    command = container.get("command", [])
    if command[:3] != ["python", "-m", "services.reporting"]:
        problems.append(f"reporting-replay: command {command} is not python -m services.reporting")
    else:
        try:
            args = reporting_cli.arguments().parse_args(command[3:])
        except SystemExit:
            args = None
        if args is None or args.command != "replay":
            problems.append(f"reporting-replay: {command[3:]} is not the replay command")
    if container.get("image") != service.get("image"):
        problems.append("reporting-replay: its image is not the reporting Deployment's")
    env = environment(base + replay, job)
    own = {item["name"] for item in container.get("env", [])}
    readable = {str(info.validation_alias) for info in StoreSettings.model_fields.values()}
    for key in sorted(own - readable):
        problems.append(f"reporting-replay: {key} is not a setting the replay reads")
    served = environment(base, by_kind(base, "Deployment")["reporting"])
    for key in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "DATABASE_URL"):
        if env.get(key) != served.get(key):
            problems.append(f"reporting-replay: {key} is not reporting's ({env.get(key)})")
    problems += _settings_problems("reporting-replay", StoreSettings, env)
    labels = job["spec"]["template"]["metadata"]["labels"]
    for kind, key in (("Service", "selector"), ("PodDisruptionBudget", "selector")):
        for name, selecting in by_kind(base, kind).items():
            selector = selecting["spec"][key]
            if _selects(selector.get("matchLabels", selector), labels):
                problems.append(f"reporting-replay: {kind} {name} selects its pod")
    if job["spec"]["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("reporting-replay: a Job's pod must not restart for ever")
    if "ttlSecondsAfterFinished" not in job["spec"]:
        problems.append("reporting-replay: it stays after it finished, so the next create fails")
    return problems


def test_the_replay_job_runs_the_replay_as_reporting_and_nothing_more(
    manifests: list[Resource], replay: list[Resource]
) -> None:
    assert replay_problems(manifests, replay) == []


def _replay_container(resources: list[Resource]) -> dict[str, Any]:
    return _container(by_kind(resources, "Job")["reporting-replay"])


def _replay_env(resources: list[Resource], name: str, value: str) -> None:
    env = _replay_container(resources)["env"]
    env[:] = [e for e in env if e["name"] != name] + [{"name": name, "value": value}]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: _replay_container(r).update(
                command=["python", "-m", "services.reporting", "replya"]
            ),
            "is not the replay command",
        ),
        (lambda r: _replay_env(r, "AUTH_JWT_SECRET", "s" * 40), "AUTH_JWT_SECRET is not a"),
        (lambda r: _replay_env(r, "KAFKA_SASL_USERNAME", "registry"), "KAFKA_SASL_USERNAME is"),
        (
            lambda r: by_kind(r, "Job")["reporting-replay"]["spec"]["template"]["metadata"][
                "labels"
            ].update({"app.kubernetes.io/name": "reporting"}),
            "Service reporting selects its pod",
        ),
        (lambda r: _replay_container(r).update(image="socialwork-platform:old"), "its image"),
    ],
)
def test_replay_check_catches(
    manifests: list[Resource], replay: list[Resource], mutate: Mutation, expected: str
) -> None:
    broken = copy.deepcopy(replay)
    mutate(broken)
    found = replay_problems(manifests, broken)
    assert any(expected in p for p in found), found
