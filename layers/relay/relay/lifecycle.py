"""SnapStart on the DataPlane: what runs before Lambda snapshots an initialised environment, and
what runs in each environment restored from that snapshot.

The Lambda Web Adapter (v1.1.0+) calls two opt-in hooks with an empty POST: the app mounts
them at `/_relay/snapstart/before-checkpoint` and `/_relay/snapstart/after-restore`
(template.yaml names them in `AWS_LWA_SNAPSTART_*_PATH`), and each calls one function here.
Both are plain and blocking, and no request is in flight when they run.

`prime` does before the snapshot what a first request would otherwise do after the restore:
it imports the inference routes' services and translators, builds the pydantic validators and
serializers of their wire models (deferred at import, relay.protocol.base), runs one chat and one
embeddings request/answer through the Bedrock translators without calling Bedrock, builds the
data plane's boto3 clients, reads the fine-tuning catalogue, and closes the shared clients'
pooled connections so that none is captured (a connection some other session kept, such as the
credential provider's, belongs to a session `after_restore` drops before it is used). It makes no network call of its own: Bedrock's model list is read on
the first request, as without SnapStart, since a list taken at publish time could be days old.

`after_restore` undoes what must not be shared by every environment restored from one snapshot:

- `random` and the generator of per-request ids (`relay.ids`: `chatcmpl-…`, request ids) are
  seeded again from the OS (otherwise each copy would draw the same sequence: the same ids,
  retry jitter, sampling). Stored records' ids come from `uuid.uuid4` and `secrets`, which read
  the OS's generator on every call and need nothing.
- Every `Services` member built so far is dropped and rebuilt on next use: the clients they hold
  (credentials resolved at publish time, connection pools), the auth cache, the limiter's leases
  of rate-limit slots (a lease copied into many environments would admit its slots once in each),
  the Bedrock catalogue cache and the usage buffer. The auth cache holds nothing at that point
  (no key is presented before the snapshot), so keeping it would save nothing; dropping it means
  no verdict outlives the snapshot, whose TTL clock is not to be trusted across a restore.
- The shared boto3 session and its clients are forgotten (`aws.renew_clients`): the next clients
  resolve credentials again, from the environment Lambda provides after the restore, and open
  new connections. The parsed service models are kept, so rebuilding them is cheap.

The after-restore hook must finish inside Lambda's 10 s restore limit and a failure fails the
restore, so it does no IO.
"""

from __future__ import annotations

import gc
import random
import time
from typing import TYPE_CHECKING, Any

from relay import ids
from relay.observability import logger

if TYPE_CHECKING:
    from relay.services.container import Services

# The clients the inference routes call (keys, limits and usage live in DynamoDB; the admin key
# in Secrets Manager; Bedrock's model list is read through `bedrock`).
DATA_PLANE_CLIENTS = ("bedrock-runtime", "dynamodb", "bedrock", "secretsmanager", "sagemaker-runtime")

# The `Services` members the inference routes use (building one imports its modules; none does IO).
DATA_PLANE_SERVICES = (
    "authenticator",
    "limiter",
    "usage",
    "chat",
    "bedrock_chat",
    "completions",
    "messages",
    "responses",
    "embeddings",
    "rerank",
    "classification",
    "invocations",
    "transcription",
)

# The wire models of the inference routes, whose validators and serializers `prime` builds.
DATA_PLANE_PROTOCOL = (
    "relay.protocol.chat",
    "relay.protocol.completions",
    "relay.protocol.embeddings",
    "relay.protocol.messages",
    "relay.protocol.responses",
    "relay.protocol.rerank",
    "relay.protocol.classification",
    "relay.protocol.models",
)

_CHAT_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
_EMBEDDINGS_MODEL = "amazon.titan-embed-text-v2:0"


def prime(services: Services) -> None:
    """Before the snapshot: do the first request's one-time work now, then close connections."""
    from relay.backends import aws
    from relay.catalogue import catalogue

    started = time.perf_counter()
    for name in DATA_PLANE_SERVICES:
        getattr(services, name)
    for service in DATA_PLANE_CLIENTS:
        aws.client(service)
    models = build_models(DATA_PLANE_PROTOCOL)
    warm_chat()
    warm_embeddings()
    catalogue()
    # Nothing was served, so nothing is pending; were anything, it is written now, not copied.
    services.usage.flush()
    services.limiter.flush()
    aws.close_clients()
    gc.collect()
    logger.info(
        "primed for the snapshot",
        extra={
            "elapsed_ms": round((time.perf_counter() - started) * 1000),
            "services": services.built(),
            "clients": aws.built_clients(),
            "models_built": models,
        },
    )


def after_restore(services: Services) -> None:
    """In each restored environment, before it serves: new randomness, services and clients."""
    from relay.backends import aws

    started = time.perf_counter()
    random.seed()
    ids.reseed()
    dropped = services.forget()
    aws.renew_clients()
    logger.info(
        "restored from the snapshot",
        extra={"elapsed_ms": round((time.perf_counter() - started) * 1000), "dropped": dropped},
    )


def build_models(modules: tuple[str, ...]) -> int:
    """Build the validator and serializer of every wire model the modules define; how many."""
    import importlib

    from relay.protocol.base import WireModel

    built = 0
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, WireModel)
                and value.__module__ == name
                and not value.__pydantic_complete__
            ):
                value.model_rebuild()
                built += 1
    return built


def warm_chat() -> None:
    """One chat request to Converse arguments, and one answer and one stream back (no IO)."""
    from relay.backends.bedrock.chat import new_id
    from relay.capabilities.families import family_of
    from relay.protocol.chat import ChatCompletionRequest
    from relay.translate.bedrock.chat import response_options, to_converse
    from relay.translate.bedrock.response import from_converse
    from relay.translate.bedrock.stream import StreamState, converse_event_to_chunks

    body = (
        b'{"model":"' + _CHAT_MODEL.encode() + b'","stream":true,"stream_options":{"include_usage":true},'
        b'"max_tokens":16,"temperature":0.2,"messages":[{"role":"system","content":"Be brief."},'
        b'{"role":"user","content":[{"type":"text","text":"Hello"}]}],'
        b'"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}]}'
    )
    request = ChatCompletionRequest.model_validate_json(body)
    family = family_of(_CHAT_MODEL)
    to_converse(request, family, model_id=_CHAT_MODEL)
    options = response_options(request, family)
    usage = {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
    answer: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
        "stopReason": "end_turn",
        "usage": usage,
    }
    completion = from_converse(answer, options, id=new_id())
    completion.__pydantic_serializer__.to_json(completion, exclude_none=True)
    state = StreamState(id=new_id(), options=options)
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": usage}},
    ]
    for event in events:
        for chunk in converse_event_to_chunks(event, state):
            chunk.__pydantic_serializer__.to_json(chunk, exclude_none=True)


def warm_embeddings() -> None:
    """One embeddings request to a Titan body, and its answer back (no IO)."""
    from relay.capabilities.embeddings import bedrock_embedding_capabilities
    from relay.protocol.embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage
    from relay.services.embeddings import encode_base64
    from relay.translate.bedrock.embeddings import parse_titan, titan_body

    body = b'{"model":"' + _EMBEDDINGS_MODEL.encode() + b'","input":["Hello"],"dimensions":256}'
    request = EmbeddingRequest.model_validate_json(body)
    caps = bedrock_embedding_capabilities(_EMBEDDINGS_MODEL)
    if caps is not None:
        titan_body("Hello", caps, request.dimensions, request.normalize)
    vectors, tokens = parse_titan({"embedding": [0.5, -0.5], "inputTextTokenCount": 1})
    response = EmbeddingResponse(
        data=[
            Embedding(index=0, embedding=vectors[0]),
            Embedding(index=1, embedding=encode_base64(vectors[0])),
        ],
        model=request.model,
        usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
    )
    response.__pydantic_serializer__.to_json(response, exclude_none=True)
