"""No Docker engine runs here: parse compose.yaml and the Dockerfile, check them against code."""

from __future__ import annotations

from pathlib import Path

import msgspec
import yaml

from consumer.settings import ConsumerSettings, load
from ingest.settings import IngestSettings
from ingest.settings import load as load_ingest

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def env_of(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def test_kafka_is_apache_kafka_in_kraft_mode_with_a_healthcheck():
    kafka = COMPOSE["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "healthcheck" in kafka


def test_services_run_real_commands_whose_flags_and_variables_parse():
    services = COMPOSE["services"]
    parsers = {"ingest": lambda argv, env: load_ingest(argv, env),
               "consume": lambda argv, env: load(ConsumerSettings, argv, "consume", env)}
    parsed = {}
    for name in ("ingest", "consumer"):
        service = services[name]
        command, *argv = service["command"]
        assert command in parsers, f"{name} runs unknown command {command}"
        env = env_of(service)
        assert all(k.startswith("LEARNSTREAM_") for k in env)
        # Parsing with the real loaders proves every flag and variable exists and is valid.
        parsed[command] = parsers[command](argv, env)
    ingest: IngestSettings = parsed["ingest"]
    consumer: ConsumerSettings = parsed["consume"]
    assert ingest.bootstrap == consumer.bootstrap == "kafka:9092"
    assert ingest.topic == consumer.topic
    assert f"{ingest.port}:{ingest.port}" in services["ingest"]["ports"]
    assert ingest.host == "0.0.0.0"
    # The broker must accept the largest body the receiver acknowledges, with headroom.
    broker_limit = int(services["kafka"]["environment"]["KAFKA_MESSAGE_MAX_BYTES"])
    assert broker_limit >= ingest.max_body_bytes + 64 * 1024


def test_receiver_is_secure_by_default_with_secrets_from_the_environment():
    env = env_of(COMPOSE["services"]["ingest"])
    assert "LEARNSTREAM_ALLOW_UNSIGNED" not in env
    for var in ("LEARNSTREAM_EDUZZ_SECRETS", "LEARNSTREAM_TOOLZZ_TOKEN"):
        # `${VAR:?message}`: compose refuses to start when the operator did not set it
        assert env[var].startswith("${" + var + ":?"), env[var]


def test_every_compose_variable_is_a_known_setting():
    known = {f"LEARNSTREAM_{f.name.upper()}" for cls in (IngestSettings, ConsumerSettings)
             for f in msgspec.structs.fields(cls)}
    for service in COMPOSE["services"].values():
        for var in env_of(service):
            if var.startswith("LEARNSTREAM_"):
                assert var in known, var


def test_consumer_data_dir_is_on_a_named_volume_and_waits_for_healthy_kafka():
    consumer = COMPOSE["services"]["consumer"]
    data_dir = consumer["command"][consumer["command"].index("--data-dir") + 1]
    volume, mount = consumer["volumes"][0].split(":")
    assert mount == data_dir and volume in COMPOSE["volumes"]
    for name in ("consumer", "ingest"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"


def test_dockerfile_installs_the_package_as_non_root_with_learnstream_as_entrypoint():
    assert DOCKERFILE.startswith("FROM python:3.11-slim")
    assert 'ENTRYPOINT ["learnstream"]' in DOCKERFILE
    assert "USER learnstream" in DOCKERFILE
    assert "pip install --no-cache-dir ." in DOCKERFILE
    for folder in ("ingest", "consumer", "sql"):
        assert f"COPY {folder} ./{folder}" in DOCKERFILE
