"""No Docker engine runs here: parse compose.yaml and the Dockerfile, check them against code.

Every command and variable goes through the real settings loaders, after compose's own
`${VAR:-default}` interpolation with an operator who set only the required secrets.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import msgspec
import yaml

from consumer.settings import ConsumerSettings, load
from ingest.app import create_app
from ingest.settings import IngestSettings
from ingest.settings import load as load_ingest
from tests.support.package import SOURCES

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
OPERATOR = {"LEARNSTREAM_EDUZZ_SECRETS": "s3cret", "LEARNSTREAM_TOOLZZ_TOKEN": "t0ken"}


def interpolate(value: object, environ: dict[str, str] = OPERATOR) -> str:
    """compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (error when unset)."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if environ.get(name):
            return environ[name]
        assert op != ":?", f"compose would refuse to start: {arg}"
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def env_of(service: dict) -> dict[str, str]:
    return {k: interpolate(v) for k, v in service.get("environment", {}).items()}


def command_of(service: dict) -> list[str]:
    return [interpolate(part) for part in service["command"]]


def parsed() -> tuple[IngestSettings, ConsumerSettings]:
    """The settings the receiver and the consumer would run with."""
    ingest_cmd, consume_cmd = command_of(SERVICES["ingest"]), command_of(SERVICES["consumer"])
    assert ingest_cmd[0] == "ingest" and consume_cmd[0] == "consume"
    for name in ("ingest", "consumer"):
        assert all(k.startswith("LEARNSTREAM_") for k in env_of(SERVICES[name]))
    # Parsing with the real loaders proves every flag and variable exists and is valid.
    return (load_ingest(ingest_cmd[1:], env_of(SERVICES["ingest"])),
            load(ConsumerSettings, consume_cmd[1:], "consume", env_of(SERVICES["consumer"])))


def healthcheck_url(service: dict) -> str:
    test = " ".join(service["healthcheck"]["test"])
    return re.search(r"http://127\.0\.0\.1:\d+/\w+", test).group(0)


def test_kafka_is_apache_kafka_in_kraft_mode_with_a_healthcheck():
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


def test_services_run_real_commands_whose_flags_and_variables_parse():
    ingest, consumer = parsed()
    assert ingest.bootstrap == consumer.bootstrap == "kafka:9092"
    assert ingest.topic == consumer.topic == "learnstream.raw"
    assert ingest.workers == 2
    assert ingest.host == "0.0.0.0"
    assert ingest.log_format == consumer.log_format == "json"
    assert consumer.data_dir == "/data"
    # The broker must accept the largest body the receiver acknowledges, with headroom.
    broker_limit = int(SERVICES["kafka"]["environment"]["KAFKA_MESSAGE_MAX_BYTES"])
    assert broker_limit >= ingest.max_body_bytes + 64 * 1024


def test_topic_service_creates_the_topic_the_others_use_with_the_configured_partitions():
    _, consumer = parsed()
    topic = SERVICES["topic"]
    assert topic["image"] == SERVICES["kafka"]["image"]
    assert topic["restart"] == "no"
    assert topic["depends_on"]["kafka"]["condition"] == "service_healthy"
    argv = command_of(topic)
    assert argv[0] == "/opt/kafka/bin/kafka-topics.sh"
    flag = {a: argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("--")}
    assert "--create" in argv and "--if-not-exists" in argv  # a restart is not an error
    assert flag["--bootstrap-server"] == consumer.bootstrap
    assert flag["--topic"] == consumer.topic
    assert int(flag["--partitions"]) == consumer.partitions == 3
    # One variable sets the partition count for both, and the topic name for all three.
    custom = {**OPERATOR, "LEARNSTREAM_PARTITIONS": "12", "LEARNSTREAM_TOPIC": "x.raw"}
    assert [interpolate(a, custom) for a in topic["command"]][argv.index("--partitions") + 1] \
        == interpolate(SERVICES["consumer"]["environment"]["LEARNSTREAM_PARTITIONS"], custom)
    for name in ("ingest", "consumer"):
        assert interpolate(SERVICES[name]["environment"]["LEARNSTREAM_TOPIC"], custom) == "x.raw"
    assert interpolate(topic["command"][argv.index("--topic") + 1], custom) == "x.raw"


def test_start_order_waits_on_health_and_on_the_topic():
    for name in ("consumer", "ingest", "topic"):
        assert SERVICES[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("consumer", "ingest"):
        condition = SERVICES[name]["depends_on"]["topic"]["condition"]
        assert condition == "service_completed_successfully"
    assert SERVICES["ingest"]["depends_on"]["consumer"]["condition"] == "service_healthy"


def test_ports_and_healthchecks_match_the_settings_and_the_routes():
    ingest, consumer = parsed()
    assert SERVICES["ingest"]["ports"] == [f"{ingest.port}:{ingest.port}"]
    assert SERVICES["consumer"]["ports"] == [f"{consumer.metrics_port}:{consumer.metrics_port}"]
    assert healthcheck_url(SERVICES["ingest"]) == f"http://127.0.0.1:{ingest.port}/readyz"
    # Ready, not only alive: consuming with the broker answering, so the receiver (which
    # depends on it) starts only once what it acknowledges can be stored.
    assert healthcheck_url(SERVICES["consumer"]) == (
        f"http://127.0.0.1:{consumer.metrics_port}/readyz")
    routes = {r.resource.canonical for r in create_app(ingest).router.routes()
              if r.resource is not None}
    assert {"/readyz", "/healthz", "/metrics"} <= routes
    exposed = {int(p) for p in re.search(r"^EXPOSE (.+)$", DOCKERFILE, re.M).group(1).split()}
    assert exposed == {ingest.port, consumer.metrics_port}


def test_receiver_is_secure_by_default_with_secrets_from_the_environment():
    env = SERVICES["ingest"]["environment"]
    assert "LEARNSTREAM_ALLOW_UNSIGNED" not in env
    for var in ("LEARNSTREAM_EDUZZ_SECRETS", "LEARNSTREAM_TOOLZZ_TOKEN"):
        # `${VAR:?message}`: compose refuses to start when the operator did not set it
        assert env[var].startswith("${" + var + ":?"), env[var]
        try:
            interpolate(env[var], {})
        except AssertionError as refused:
            assert "set the" in str(refused)
        else:
            raise AssertionError(f"{var} unset should stop compose")
    ingest, _ = parsed()
    assert ingest.secrets == ("s3cret",) and ingest.toolzz_token == "t0ken"


def test_every_compose_variable_is_a_known_setting():
    known = {f"LEARNSTREAM_{f.name.upper()}" for cls in (IngestSettings, ConsumerSettings)
             for f in msgspec.structs.fields(cls)}
    for service in SERVICES.values():
        for var in env_of(service):
            if var.startswith("LEARNSTREAM_"):
                assert var in known, var


def test_images_are_the_one_built_here_and_apache_kafka():
    assert SERVICES["consumer"]["build"] == "."
    assert SERVICES["consumer"]["image"] == SERVICES["ingest"]["image"] == "learnstream:latest"
    assert {s["image"].split(":")[0] for s in SERVICES.values()} == {"apache/kafka",
                                                                     "learnstream"}


def test_consumer_data_dir_is_on_a_named_volume():
    _, consumer = parsed()
    volume, mount = SERVICES["consumer"]["volumes"][0].split(":")
    assert mount == consumer.data_dir and volume in COMPOSE["volumes"]
    assert re.search(r"^ENV LEARNSTREAM_DATA_DIR=/data$", DOCKERFILE, re.M)


def test_dockerfile_installs_exactly_the_wheel_as_non_root_with_learnstream_as_entrypoint():
    build, image = DOCKERFILE.split("\nFROM ")
    assert build.startswith("FROM python:3.11-slim AS wheel\n")
    assert image.startswith("python:3.11-slim\n")
    # The build stage copies what tests/test_wheel.py builds its wheel from, and builds it.
    copied = re.findall(r"^COPY (.+)$", build, re.M)
    assert sorted(" ".join(copied).replace("./", "").split()) == sorted(
        [*SOURCES, "ingest", "consumer", "sql"])
    assert re.search(r"^RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheel \.$", build,
                     re.M)
    # The image gets the wheel and nothing of the source tree, and installs that file.
    assert re.findall(r"^COPY (.+)$", image, re.M) == ["--from=wheel /wheel /wheel"]
    (install,) = re.findall(r"^RUN pip install (.+)$", image, re.M)
    assert install.split(" && ")[0] == "--no-cache-dir /wheel/learnstream-*.whl"
    assert 'ENTRYPOINT ["learnstream"]' in image
    assert "USER learnstream" in image
    # The entry point's subcommands are the services' commands.
    from consumer.cli import USAGE
    for name in ("ingest", "consumer"):
        assert f"\n  {command_of(SERVICES[name])[0]} " in USAGE


def test_readme_curl_signs_like_eduzz():
    readme = (ROOT / "README.md").read_text()
    compose = readme.split("## Production: Apache Kafka with compose", 1)[1].split("\n## ")[0]
    assert "docker compose up -d --wait" in compose
    assert "openssl dgst -sha256 -hmac" in compose and "x-signature" in compose
    assert "/data/analytics.duckdb" in compose
    script = compose.split("```sh", 1)[1].split("```")[0]
    shlex.split(script)  # balanced quotes
    # The body the curl posts is a real event: it decodes to a learning row.
    from consumer.settings import ConsumerSettings as Settings
    from consumer.sources.decoder import Decoder, Message

    body = re.search(r"^body='(.*)'$", script, re.M).group(1).encode()
    decoded = Decoder(Settings().zones()).decode(Message(body, [("source", b"eduzz")], 0, 0, 0))
    assert decoded.dead is None and [r.action for r in decoded.learning] == ["lesson_started"]
