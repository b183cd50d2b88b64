"""Start the local stand-in for AWS: moto's server plus the wire-level emulators.

The app reaches both only through the standard endpoint variables. Variables the user has
already set win, so one service can be pointed at real AWS while the rest stay local.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local import base_models, dynamodb, stepfunctions
from local.delivery import Delivery
from local.emulators import (
    bedrock,
    bedrock_agent_runtime,
    bedrock_invoke,
    bedrock_runtime,
    lambda_invoke,
    sagemaker_hosting,
)
from local.emulators.server import EmulatorServer, Router
from local.resources import LocalResources, create_resources
from local.schedules import RateTicker

REGION = "us-east-1"
# Services moto serves (AWS_ENDPOINT_URL) and those the emulators serve.
EMULATED_SERVICES = ("BEDROCK", "BEDROCK_RUNTIME", "BEDROCK_AGENT_RUNTIME", "SAGEMAKER_RUNTIME", "LAMBDA")
# Each emulator adds its routes to the one router the emulator server dispatches on.
EMULATOR_REGISTRARS: list[Callable[[Router], None]] = [bedrock.register, bedrock_runtime.register]
EMULATOR_REGISTRARS += [bedrock_invoke.register, bedrock_agent_runtime.register]
# The hosting API (endpoints, inference components) serves tiny-local checkpoints on CPU behind the
# sagemaker-runtime routes it registers; the training API (CreateTrainingJob & co.) runs jobs on CPU;
# other SageMaker calls go on to moto.
EMULATOR_REGISTRARS += [sagemaker_hosting.register]
# Lambda's Invoke runs template functions in-process (moto's Lambda needs Docker): the control
# plane hands large dataset uploads to the pipeline worker this way.
EMULATOR_REGISTRARS += [lambda_invoke.register]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def generate_admin_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(48))


@dataclass
class LocalStack:
    admin_key: str = ""
    host: str = "127.0.0.1"
    moto_url: str = ""
    emulator_url: str = ""
    resources: LocalResources = field(default_factory=LocalResources)
    applied_env: dict[str, str] = field(default_factory=dict)
    # Period of the template's rate schedules (the idle scaler): None keeps the template's own
    # rate (5 minutes), a number of seconds replaces it, 0 turns them off.
    scaler_seconds: float | None = None
    _moto: object | None = None
    _ticker: RateTicker | None = None
    _delivery: Delivery | None = None
    _emulator: EmulatorServer | None = None

    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines

        dynamodb.install()  # each call atomic, as DynamoDB's are (local/dynamodb.py)
        port = free_port(self.host)
        moto = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        moto.start()
        self._moto = moto
        self.moto_url = f"http://{self.host}:{port}"

        router = Router()
        for register in EMULATOR_REGISTRARS:
            register(router)
        self._emulator = EmulatorServer(self.host, 0, router).start()
        self.emulator_url = self._emulator.url

        self._set("AWS_ACCESS_KEY_ID", "testing", override=False)
        self._set("AWS_SECRET_ACCESS_KEY", "testing", override=False)
        self._set("AWS_DEFAULT_REGION", REGION, override=False)
        self._set("AWS_REGION", os.environ["AWS_DEFAULT_REGION"], override=False)
        self._set("AWS_ENDPOINT_URL", self.moto_url, override=False)
        for service in EMULATED_SERVICES:
            self._set(f"AWS_ENDPOINT_URL_{service}", self.emulator_url, override=False)
        # Powertools: readable logs and no EMF lines on a developer's terminal.
        self._set("POWERTOOLS_METRICS_DISABLED", "true", override=False)
        # SageMaker's control API: the training emulator, which forwards the rest to moto.
        self._set("AWS_ENDPOINT_URL_SAGEMAKER", self.emulator_url, override=False)
        # Training jobs on the local stack take seconds, not hours: poll them every 2 s.
        self._set("RELAY_TRAINING_POLL_SECONDS", "2", override=False)
        # Local endpoints and inference components settle in seconds: poll them every second.
        self._set("DEPLOYMENT_POLL_SECONDS", "1", override=False)
        # A request line that failed transiently is redelivered after a second, not half a minute.
        self._set("RELAY_REQUEST_RETRY_DELAY_SECONDS", "1", override=False)
        # Step Functions executes state machines (moto's interpreter, patched: local/stepfunctions.py);
        # on before the state machines are created, so they land in the executing backend.
        stepfunctions.install([])

        self.admin_key = self.admin_key or os.environ.get("RELAY_ADMIN_KEY") or generate_admin_key()
        session = boto3.session.Session()
        self.resources = create_resources(session, self.admin_key, os.environ["AWS_DEFAULT_REGION"])
        stepfunctions.install(self.resources.functions)
        base_models.seed_in_background(session.client("s3"), self.resources.environment["RELAY_BUCKET_NAME"])
        _declare_emulated_endpoints(session.client("sagemaker"))
        for key, value in self.resources.environment.items():
            self._set(key, value, override=False)
        # After the environment: the functions the schedules invoke read their settings from it.
        self._ticker = RateTicker(self.resources.schedules, self.scaler_seconds).start()
        # Queues, bus rules and bucket notifications are delivered to the functions in-process.
        self._delivery = Delivery(
            session, self.resources.event_sources, os.environ["AWS_DEFAULT_REGION"]
        ).start()
        return self

    def _set(self, key: str, value: str, *, override: bool) -> None:
        if override or key not in os.environ:
            os.environ[key] = value
            self.applied_env[key] = value
            if key.startswith("POWERTOOLS_"):
                from relay.observability import reload_environment

                reload_environment()  # read once per process otherwise

    def stop(self) -> None:
        sagemaker_hosting.shutdown()  # the serving processes of deployed components
        if self._delivery is not None:
            self._delivery.stop()
        if self._ticker is not None:
            self._ticker.stop()
        if self._emulator is not None:
            self._emulator.stop()
        if self._moto is not None:
            self._moto.stop()  # type: ignore[attr-defined]
        for key in self.applied_env:
            os.environ.pop(key, None)
        self.applied_env.clear()


def _declare_emulated_endpoints(sagemaker: Any) -> None:
    """Create the emulated endpoints in the SageMaker hosting emulator too, so DescribeEndpoint finds
    them and registering one with `POST /v1/admin/models` works with its default endpoint check."""
    from local.emulators.sagemaker_runtime import EMULATED_ENDPOINTS

    role = "arn:aws:iam::123456789012:role/relay-local-endpoints"
    existing = {e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100).get("Endpoints", [])}
    for name in EMULATED_ENDPOINTS:
        if name in existing:
            continue
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=role,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/relay-emulated:latest"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    for name in EMULATED_ENDPOINTS:  # endpoints are Creating for a moment, as on AWS
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.1})
