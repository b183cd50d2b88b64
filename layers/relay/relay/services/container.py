"""The services one app instance uses, built lazily so cold start pays only for what it touches.

Each property imports its own modules: the DataPlane never loads the control plane's code
and the ControlPlane never loads the translators (the imports under TYPE_CHECKING are for
annotations only).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from relay.backends import aws
from relay.settings import Settings, SettingsError

if TYPE_CHECKING:
    from relay.backends.bedrock.catalog import BedrockCatalog
    from relay.backends.bedrock.chat import BedrockChatBackend
    from relay.backends.bedrock.invoke import BedrockInvoker
    from relay.backends.images import ImageFetcher
    from relay.backends.s3 import ObjectStore
    from relay.backends.sagemaker.chat import SageMakerChatBackend
    from relay.backends.sagemaker.control import SageMakerControl
    from relay.backends.sagemaker.runtime import SageMakerRuntime
    from relay.backends.sqs import SqsQueues
    from relay.backends.stepfunctions import StepFunctions
    from relay.backends.worker import Worker
    from relay.pipeline.context import Pipeline
    from relay.services.batches.lines import BatchLines
    from relay.services.batches.repository import BatchRepository
    from relay.services.batches.runner import BatchRunner
    from relay.services.batches.service import BatchService
    from relay.services.chat import ChatService
    from relay.services.classification import ClassificationService, InvocationService
    from relay.services.completions import CompletionService
    from relay.services.datasets.repository import DatasetRepository
    from relay.services.datasets.service import DatasetService
    from relay.services.datasets.uploads import DatasetUploads
    from relay.services.datasets.verification import DatasetVerifier
    from relay.services.deployments.engines import EngineService
    from relay.services.deployments.lifecycle import ExecutionStarter, Lifecycle
    from relay.services.deployments.resources import HostingPort
    from relay.services.deployments.scaling import MetricsPort
    from relay.services.deployments.schedules import ScheduleSync
    from relay.services.deployments.service import DeploymentService
    from relay.services.deployments.worker import DeploymentWorker
    from relay.services.dispatch.bus import BusWorker
    from relay.services.dispatch.dispatcher import Dispatcher
    from relay.services.dispatch.objects import ObjectBatchWorker
    from relay.services.dispatch.queue import QueueWorker
    from relay.services.embeddings import EmbeddingService
    from relay.services.files.repository import FileRepository
    from relay.services.files.service import FileService
    from relay.services.fine_tuning.repository import FineTuningRepository
    from relay.services.fine_tuning.service import FineTuningService
    from relay.services.fine_tuning.serving import FineTunedModels
    from relay.services.keys.auth import Authenticator
    from relay.services.keys.repository import ApiKeyRepository
    from relay.services.keys.service import ApiKeyService
    from relay.services.limits.repository import LimitCounters
    from relay.services.limits.service import Limiter
    from relay.services.messages import MessagesService
    from relay.services.models import ModelDirectory
    from relay.services.projects.repository import ProjectRepository
    from relay.services.projects.service import ProjectService
    from relay.services.reactivation import DeploymentGate
    from relay.services.registry.repository import ModelRegistryRepository
    from relay.services.registry.service import ModelRegistration
    from relay.services.rerank import RerankService
    from relay.services.resolver import ModelResolver
    from relay.services.responses.repository import ResponseRepository
    from relay.services.responses.service import ResponsesService
    from relay.services.training.downloads import CheckpointDownloads
    from relay.services.training.repository import TrainingJobRepository
    from relay.services.training.service import TrainingService
    from relay.services.transcription import TranscriptionService
    from relay.services.usage.repository import UsageRepository
    from relay.services.usage.service import UsageService
    from relay.targets import ChatBackend, Source


# Image URLs in chat requests: Bedrock's per-image limit, and a deadline well inside
# API Gateway's 29 s integration timeout.
IMAGE_FETCH_TIMEOUT = 10.0


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def built(self) -> list[str]:
        """The members built so far."""
        return sorted(name for name in _MEMBERS if name in self.__dict__)

    def forget(self) -> list[str]:
        """Drop every member built so far (after a SnapStart restore): each is built again on its
        next use, with the clients `aws` builds then. Callers reach members through this object on
        every use, never keeping one. Returns the names dropped."""
        dropped = self.built()
        for name in dropped:
            del self.__dict__[name]
        return dropped

    # --- control plane: training, keys, projects, datasets, the pipeline worker ---

    @cached_property
    def step_functions(self) -> StepFunctions:
        from relay.backends.stepfunctions import StepFunctions

        return StepFunctions(lambda: aws.client("stepfunctions"))

    @cached_property
    def sagemaker_control(self) -> SageMakerControl:
        from relay.backends.sagemaker.control import SageMakerControl

        return SageMakerControl(lambda: aws.client("sagemaker"))

    @cached_property
    def training_job_repository(self) -> TrainingJobRepository:
        from relay.services.training.dynamodb import DynamoDBTrainingJobRepository

        return DynamoDBTrainingJobRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def training(self) -> TrainingService:
        from relay.services.training.service import TrainingService

        return TrainingService(
            self.training_job_repository,
            self.dataset_repository,
            self.project_repository,
            self.object_store,
            self.step_functions,
            self.sagemaker_control,
            self.settings.state_machine_arn,
        )

    @cached_property
    def pipeline(self) -> Pipeline:
        """What the pipeline worker's steps work with (functions/pipeline/handler.py)."""
        from relay.pipeline.context import Pipeline

        return Pipeline(
            jobs=self.training_job_repository,
            datasets=self.dataset_repository,
            objects=self.object_store,
            sagemaker=self.sagemaker_control,
            logs=aws.client("logs"),
            settings=self.settings,
            dataset_verifier=self.dataset_verifier,
        )

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        from relay.services.keys.dynamodb import DynamoDBApiKeyRepository

        return DynamoDBApiKeyRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def keys(self) -> ApiKeyService:
        from relay.backends.secrets import secrets_manager_writer
        from relay.services.keys.service import ApiKeyService

        writer = secrets_manager_writer(lambda: aws.client("secretsmanager"), self.settings.admin_secret_id)
        return ApiKeyService(self.api_keys, self.authenticator.forget, admin_secret=writer)

    @cached_property
    def authenticator(self) -> Authenticator:
        from relay.backends.secrets import secrets_manager_source
        from relay.services.keys.auth import Authenticator

        return Authenticator(
            secrets_manager_source(lambda: aws.client("secretsmanager"), self.settings.admin_secret_id),
            self.api_keys,
            ttl=self.settings.auth_cache_ttl,
        )

    @cached_property
    def limit_counters(self) -> LimitCounters:
        from relay.services.limits.dynamodb import DynamoDBLimitCounters

        return DynamoDBLimitCounters(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def limiter(self) -> Limiter:
        """Per-key rate limits and token budgets (only limited keys touch the counters)."""
        from relay.services.limits.service import Limiter

        return Limiter(self.limit_counters)

    @cached_property
    def usage_repository(self) -> UsageRepository:
        from relay.services.usage.dynamodb import DynamoDBUsageRepository

        return DynamoDBUsageRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def usage(self) -> UsageService:
        from relay.services.usage.buffer import UsageBuffer
        from relay.services.usage.service import UsageService

        return UsageService(
            self.usage_repository,
            lambda: [key.id for key in self.api_keys.list()],
            buffer=UsageBuffer(self.usage_repository),
        )

    @cached_property
    def model_registry(self) -> ModelRegistryRepository:
        from relay.services.registry.dynamodb import DynamoDBModelRegistry

        return DynamoDBModelRegistry(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def bedrock_catalog(self) -> BedrockCatalog:
        from relay.backends.bedrock.catalog import BedrockCatalog

        return BedrockCatalog(
            lambda: aws.client("bedrock"),
            ttl=self.settings.catalog_ttl,
            allowed=self.settings.allowed_models,
        )

    @cached_property
    def models(self) -> ModelDirectory:
        from relay.catalogue import catalogue_models
        from relay.services.models import ModelDirectory

        return ModelDirectory(
            self.bedrock_catalog, self.model_registry, self.resolver, extra_sources=(catalogue_models,)
        )

    @cached_property
    def resolver(self) -> ModelResolver:
        """The one model resolver every inference route and `/v1/models/{id}` use."""
        from relay.catalogue import base_model
        from relay.services.resolver import ModelResolver

        return ModelResolver(
            self.bedrock_catalog,
            self.model_registry,
            base_models=lambda name: base_model(name) is not None,
            gate=self.deployment_gate,
            # Built on the first `ft:` id, so other requests never pay for it.
            fine_tuned=lambda model_id: self.fine_tuned_models.deployment_name(model_id),
        )

    @cached_property
    def deployer(self) -> Worker | None:
        """The deployer Lambda (asynchronous invokes), where this function is told its name."""
        from relay.backends.worker import LambdaWorker

        name = self.settings.deployer_function_name
        return LambdaWorker(lambda: aws.client("lambda"), name) if name else None

    @cached_property
    def deployment_gate(self) -> DeploymentGate:
        """Deployments answer 503 + Retry-After until Deployed; a deactivated one is sent to the deployer."""
        from relay.services.reactivation import DeploymentGate

        # The deployment state machine looks again once per poll interval: sooner sees nothing new.
        return DeploymentGate(self.deployer, retry_after=2 * int(self.settings.deployment_poll_seconds))

    @cached_property
    def project_repository(self) -> ProjectRepository:
        from relay.services.projects.dynamodb import DynamoDBProjectRepository

        return DynamoDBProjectRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def dataset_repository(self) -> DatasetRepository:
        from relay.services.datasets.dynamodb import DynamoDBDatasetRepository

        return DynamoDBDatasetRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def object_store(self) -> ObjectStore:
        import boto3
        from botocore.config import Config

        from relay.backends.s3 import S3ObjectStore

        # A client of its own: presigned URLs must be SigV4 (botocore still presigns SigV2 in
        # us-east-1 by default, which cannot carry the checksum fields of the POST policy).
        client = boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))
        return S3ObjectStore(client, self.settings.bucket_name)

    @cached_property
    def projects(self) -> ProjectService:
        from relay.services.projects.service import ProjectService

        return ProjectService(self.project_repository, self.object_store)

    @cached_property
    def worker(self) -> Worker | None:
        """The pipeline worker Lambda, where this function is told its name."""
        from relay.backends.worker import LambdaWorker

        name = self.settings.worker_function_name
        return LambdaWorker(lambda: aws.client("lambda"), name) if name else None

    @cached_property
    def datasets(self) -> DatasetService:
        from relay.services.datasets.service import DatasetService

        return DatasetService(
            self.projects,
            self.dataset_repository,
            self.training_job_repository,
            self.object_store,
            self.settings,
        )

    @cached_property
    def dataset_verifier(self) -> DatasetVerifier:
        from relay.services.datasets.verification import DatasetVerifier

        return DatasetVerifier(self.dataset_repository, self.object_store, self.settings, worker=self.worker)

    @cached_property
    def dataset_uploads(self) -> DatasetUploads:
        from relay.services.datasets.uploads import DatasetUploads

        return DatasetUploads(
            self.projects,
            self.datasets,
            self.dataset_repository,
            self.dataset_verifier,
            self.object_store,
            self.settings,
        )

    # --- chat completions ---

    @cached_property
    def image_fetcher(self) -> ImageFetcher:
        from relay.backends.images import ImageFetcher
        from relay.translate.bedrock.content import MAX_IMAGE_BYTES

        return ImageFetcher(max_bytes=MAX_IMAGE_BYTES, timeout=IMAGE_FETCH_TIMEOUT)

    @cached_property
    def bedrock_chat(self) -> BedrockChatBackend:
        from relay.backends.bedrock.chat import BedrockChatBackend
        from relay.translate.bedrock.chat import Defaults

        defaults = Defaults(
            guardrail_id=self.settings.guardrail_id, guardrail_version=self.settings.guardrail_version
        )
        return BedrockChatBackend(aws.client("bedrock-runtime"), defaults=defaults, images=self.image_fetcher)

    @cached_property
    def chat_backends(self) -> dict[Source, Callable[[], ChatBackend[Any]]]:
        """Model source -> backend; the SageMaker backend registers here too."""
        return {"bedrock": lambda: self.bedrock_chat, "sagemaker": lambda: self.sagemaker_chat}

    @cached_property
    def chat(self) -> ChatService:
        from relay.services.chat import ChatService

        return ChatService(self.resolver, self.chat_backends)

    @cached_property
    def completions(self) -> CompletionService:
        from relay.backends.sagemaker.completions import SageMakerCompletionBackend
        from relay.services.completions import CompletionService

        # OpenAI-compatible containers answer completions themselves; the rest go through chat.
        return CompletionService(self.chat, SageMakerCompletionBackend(self.sagemaker_runtime))

    @cached_property
    def messages(self) -> MessagesService:
        """Anthropic's Messages API on the chat machinery, with Bedrock CountTokens."""
        from relay.backends.bedrock.tokens import BedrockTokenCounter
        from relay.services.messages import MessagesService

        counter = BedrockTokenCounter(aws.client("bedrock-runtime"), images=self.image_fetcher)
        return MessagesService(self.chat, counter)

    @cached_property
    def response_repository(self) -> ResponseRepository:
        from relay.services.responses.dynamodb import DynamoDBResponseRepository

        return DynamoDBResponseRepository(aws.client("dynamodb"), self.settings.table_name, self.object_store)

    @cached_property
    def responses(self) -> ResponsesService:
        """OpenAI's Responses API on the chat machinery, with stored responses."""
        from relay.services.responses.service import ResponsesService

        return ResponsesService(self.chat, self.response_repository)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """One batch line through these same services: the SQS, EventBridge, S3 and invoke workers."""
        from relay.services.dispatch.dispatcher import Dispatcher
        from relay.services.dispatch.endpoints import endpoints

        return Dispatcher(endpoints(self), record_usage=self.usage.record_quietly)

    @cached_property
    def file_repository(self) -> FileRepository:
        from relay.services.files.dynamodb import DynamoDBFileRepository

        return DynamoDBFileRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def files(self) -> FileService:
        """`/v1/files`: the same body budget as dataset uploads (relay.settings), the same bucket."""
        import boto3
        from botocore.config import Config

        from relay.backends.s3_uploads import S3Uploads
        from relay.services.files.service import FileLimits, FileService

        settings = self.settings
        limits = FileLimits(
            inline_max_bytes=settings.dataset_inline_max_bytes,
            presigned_max_bytes=settings.dataset_presigned_max_bytes,
            inline_download_bytes=settings.max_body_bytes,
            url_ttl=int(settings.upload_url_ttl),
        )
        # SigV4 for the presigned POST's checksum fields, as object_store's client.
        client = boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))
        return FileService(
            self.file_repository, self.object_store, S3Uploads(client, settings.bucket_name), limits
        )

    @cached_property
    def fine_tuning_repository(self) -> FineTuningRepository:
        from relay.services.fine_tuning.dynamodb import DynamoDBFineTuningRepository

        return DynamoDBFineTuningRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def fine_tuning(self) -> FineTuningService:
        """`/v1/fine_tuning/jobs`: OpenAI jobs as training jobs, files copied into datasets."""
        from relay.services.fine_tuning.files import TrainingFiles
        from relay.services.fine_tuning.results import ResultFiles
        from relay.services.fine_tuning.service import FineTuningService

        files = TrainingFiles(
            self.files, self.dataset_uploads, self.datasets, self.settings.dataset_inline_max_bytes
        )
        return FineTuningService(
            self.fine_tuning_repository,
            self.training,
            self.project_repository,
            files,
            ResultFiles(self.files, self.object_store),
        )

    @cached_property
    def fine_tuned_models(self) -> FineTunedModels:
        """`ft:` ids to deployments, for the resolver (reads only: the data plane may use it)."""
        from relay.services.deployments.dynamodb import DynamoDBDeploymentRepository
        from relay.services.fine_tuning.serving import FineTunedModels

        deployments = DynamoDBDeploymentRepository(aws.client("dynamodb"), self.settings.table_name)
        return FineTunedModels(self.fine_tuning_repository, self.training_job_repository, deployments)

    @cached_property
    def queue_worker(self) -> QueueWorker:
        """The request queue's consumer (functions/requests_queue)."""
        from relay.services.batches.lines import key_principals
        from relay.services.dispatch.queue import QueueConfig, QueueWorker

        settings = self.settings
        if not (settings.response_queue_url and settings.request_queue_url):
            raise SettingsError("RELAY_REQUEST_QUEUE_URL and RELAY_RESPONSE_QUEUE_URL must be set")
        config = QueueConfig(
            response_queue_url=settings.response_queue_url,
            allowed_reply_arns=frozenset(settings.reply_queue_arns),
            max_receives=settings.request_max_receives,
            request_queue_url=settings.request_queue_url,
            retry_delay=settings.request_retry_delay,
        )
        return QueueWorker(
            self.dispatcher,
            self.queues,
            config,
            batch_lines=self.batch_lines,
            principals=key_principals(self.api_keys),
        )

    @cached_property
    def queues(self) -> SqsQueues:
        from relay.backends.sqs import SqsQueues

        return SqsQueues(lambda: aws.client("sqs"))

    @cached_property
    def batch_repository(self) -> BatchRepository:
        from relay.services.batches.dynamodb import DynamoDBBatchRepository

        return DynamoDBBatchRepository(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def batch_function(self) -> Worker | None:
        """The batch function (asynchronous invokes), where this function is told its name."""
        from relay.backends.worker import LambdaWorker

        name = self.settings.batch_function_name
        return LambdaWorker(lambda: aws.client("lambda"), name) if name else None

    @cached_property
    def batches(self) -> BatchService:
        """`/v1/batches` (the control plane)."""
        from relay.services.batches.service import BatchService

        return BatchService(self.batch_repository, self.files, self.batch_function)

    @cached_property
    def batch_lines(self) -> BatchLines:
        """A batch's lines on the request queue (the queue worker hands them here)."""
        from relay.services.batches.lines import BatchLines, key_principals

        settings = self.settings
        from relay.backends.s3_uploads import S3Uploads

        return BatchLines(
            self.dispatcher,
            self.batch_repository,
            S3Uploads(aws.client("s3"), settings.bucket_name),
            self.queues,
            settings.request_queue_url,
            settings.request_retry_delay,
            key_principals(self.api_keys),
        )

    @cached_property
    def batch_runner(self) -> BatchRunner:
        """What the batch function runs (functions/batch)."""
        from relay.backends.s3_uploads import S3Uploads
        from relay.services.batches.runner import BatchRunner

        settings = self.settings
        if not settings.request_queue_url:
            raise SettingsError("RELAY_REQUEST_QUEUE_URL must be set for the batch function")
        return BatchRunner(
            self.batch_repository,
            self.files,
            self.object_store,
            S3Uploads(aws.client("s3"), settings.bucket_name),
            self.queues,
            settings.request_queue_url,
            self.batch_function,
            settings.batch_concurrency,
        )

    @cached_property
    def bus_worker(self) -> BusWorker:
        """The `Relay Request` rule's target (functions/requests_events)."""
        from relay.backends.events import EventBus
        from relay.services.dispatch.bus import BusWorker

        if not self.settings.event_bus_name:
            raise SettingsError("RELAY_EVENT_BUS_NAME must be set for the event bus worker")
        return BusWorker(
            self.dispatcher, EventBus(lambda: aws.client("events"), self.settings.event_bus_name)
        )

    @cached_property
    def object_batch_worker(self) -> ObjectBatchWorker:
        """Objects under batch/input/ (functions/requests_events, S3 Object Created)."""
        from relay.backends.s3_uploads import S3Uploads
        from relay.services.dispatch.objects import ObjectBatchWorker

        uploads = S3Uploads(aws.client("s3"), self.settings.bucket_name)
        return ObjectBatchWorker(self.dispatcher, self.object_store, uploads, self.settings.batch_concurrency)

    # --- SageMaker endpoints, embeddings, rerank, classification, invocations, audio ---

    @cached_property
    def sagemaker_runtime(self) -> SageMakerRuntime:
        from relay.backends.sagemaker.runtime import SageMakerRuntime

        return SageMakerRuntime(lambda: aws.client("sagemaker-runtime"))

    @cached_property
    def sagemaker_chat(self) -> SageMakerChatBackend:
        from relay.backends.sagemaker.chat import SageMakerChatBackend

        return SageMakerChatBackend(self.sagemaker_runtime)

    @cached_property
    def bedrock_invoker(self) -> BedrockInvoker:
        from relay.backends.bedrock.invoke import BedrockInvoker

        return BedrockInvoker(
            lambda: aws.client("bedrock-runtime"), lambda: aws.client("bedrock-agent-runtime")
        )

    @cached_property
    def model_registration(self) -> ModelRegistration:
        from relay.backends.sagemaker.endpoints import EndpointDirectory
        from relay.services.registry.service import ModelRegistration

        return ModelRegistration(self.model_registry, EndpointDirectory(lambda: aws.client("sagemaker")))

    @cached_property
    def embeddings(self) -> EmbeddingService:
        from relay.services.embeddings import EmbeddingService

        return EmbeddingService(
            self.resolver,
            self.bedrock_invoker,
            self.sagemaker_runtime,
            max_concurrency=self.settings.embedding_concurrency,
        )

    @cached_property
    def rerank(self) -> RerankService:
        from relay.services.rerank import RerankService

        return RerankService(
            self.resolver,
            self.bedrock_invoker,
            self.sagemaker_runtime,
            lambda: str(aws.client("bedrock-agent-runtime").meta.region_name),
        )

    @cached_property
    def classification(self) -> ClassificationService:
        from relay.services.classification import ClassificationService

        return ClassificationService(self.resolver, self.sagemaker_runtime)

    @cached_property
    def invocations(self) -> InvocationService:
        from relay.services.classification import InvocationService

        return InvocationService(self.resolver, self.bedrock_invoker, self.sagemaker_runtime)

    @cached_property
    def transcription(self) -> TranscriptionService:
        from relay.services.transcription import TranscriptionService

        return TranscriptionService(
            self.resolver, self.sagemaker_runtime, max_audio_bytes=self.settings.max_audio_bytes
        )

    @cached_property
    def checkpoint_downloads(self) -> CheckpointDownloads:
        """Presigned links to checkpoint files (`model_download_url`), as datasets have."""
        from relay.services.training.downloads import CheckpointDownloads

        return CheckpointDownloads(
            self.object_store, self.settings.bucket_name, int(self.settings.download_url_ttl)
        )

    # --- engines and deployments ---

    @cached_property
    def deployment_executions(self) -> ExecutionStarter | None:
        from relay.services.deployments.lifecycle import DeploymentExecutions

        arn = self.settings.deployment_state_machine_arn
        return DeploymentExecutions(self.step_functions, arn) if arn else None

    @cached_property
    def deployment_lifecycle(self) -> Lifecycle:
        from relay.services.deployments.adapters import RegistryAdapter
        from relay.services.deployments.dynamodb import DynamoDBDeploymentRepository
        from relay.services.deployments.lifecycle import Lifecycle

        return Lifecycle(
            DynamoDBDeploymentRepository(aws.client("dynamodb"), self.settings.table_name),
            RegistryAdapter(self.model_registry),
            self.deployment_executions,
        )

    @cached_property
    def deployment_schedules(self) -> ScheduleSync | None:
        """Weekly schedules, where the function is told the group, the role and the deployer."""
        from relay.backends.scheduler import EventBridgeScheduler
        from relay.services.deployments.models import SageMakerNames
        from relay.services.deployments.schedules import ScheduleSync, function_arn

        settings = self.settings
        if not (
            settings.schedule_group_name and settings.scheduler_role_arn and settings.deployer_function_name
        ):
            return None
        region = str(aws.client("scheduler").meta.region_name)
        target = function_arn(settings.deployer_function_name, settings.scheduler_role_arn, region)
        port = EventBridgeScheduler(lambda: aws.client("scheduler"), settings.schedule_group_name)
        return ScheduleSync(
            port, SageMakerNames(settings.resource_prefix), target, settings.scheduler_role_arn
        )

    @cached_property
    def deployments(self) -> DeploymentService:
        from relay.services.deployments.adapters import TrainingCheckpoints
        from relay.services.deployments.copies import CopyCounts
        from relay.services.deployments.dynamodb import DynamoDBEngineRepository
        from relay.services.deployments.models import SageMakerNames
        from relay.services.deployments.service import DeploymentService
        from relay.services.deployments.sources import SourceResolver

        settings = self.settings
        return DeploymentService(
            deployments=self.deployment_lifecycle.deployments,
            engines=DynamoDBEngineRepository(aws.client("dynamodb"), settings.table_name),
            projects=self.project_repository,
            sources=SourceResolver(
                TrainingCheckpoints(self.training_job_repository, self.object_store, settings.bucket_name),
                settings.bucket_name,
            ),
            lifecycle=self.deployment_lifecycle,
            schedules=self.deployment_schedules,
            names=SageMakerNames(settings.resource_prefix),
            copies=CopyCounts(self.deployment_hosting, SageMakerNames(settings.resource_prefix)),
        )

    @cached_property
    def engines(self) -> EngineService:
        from relay.services.deployments.engines import EngineService

        return EngineService(self.deployments, self.deployer)

    @cached_property
    def deployment_hosting(self) -> HostingPort:
        from relay.backends.sagemaker.hosting import SageMakerHosting

        return SageMakerHosting(lambda: aws.client("sagemaker"))

    @cached_property
    def deployment_metrics(self) -> MetricsPort:
        from relay.backends.cloudwatch import CloudWatchMetrics

        return CloudWatchMetrics(lambda: aws.client("cloudwatch"))

    @cached_property
    def deployment_worker(self) -> DeploymentWorker:
        """What the deployer Lambda runs (functions/deployer/handler.py)."""
        from relay.services.deployments.resources import HostingConfig, Resources
        from relay.services.deployments.scaling import Scaler
        from relay.services.deployments.worker import DeploymentWorker

        service, lifecycle = self.deployments, self.deployment_lifecycle
        resources = Resources(
            self.deployment_hosting,
            service.deployments,
            service.engines,
            service.names,
            HostingConfig(
                role_arn=self.settings.sagemaker_execution_role_arn,
                region=str(aws.client("sagemaker").meta.region_name),
                bucket=self.settings.bucket_name,
            ),
        )
        return DeploymentWorker(
            lifecycle=lifecycle,
            resources=resources,
            scaler=Scaler(lifecycle, service.engines, resources, self.deployment_metrics, service.names),
            poll_seconds=int(self.settings.deployment_poll_seconds),
        )


_MEMBERS = frozenset(name for name, value in vars(Services).items() if isinstance(value, cached_property))
