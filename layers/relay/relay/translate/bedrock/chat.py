"""OpenAI chat request -> Converse / ConverseStream keyword arguments (pure).

Every OpenAI parameter is either mapped or refused with a 400 naming it; see
`REFUSED` for those Bedrock has no equivalent of. `n` is the backend's job (parallel
calls); `stream_options` and `parallel_tool_calls` shape the response (`ResponseOptions`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from relay.capabilities.families import Family
from relay.errors import BadRequestError
from relay.protocol.chat import ChatCompletionRequest, FunctionDefinition, NamedFunction, NamedToolChoice
from relay.translate.bedrock.content import CACHE_POINT, FetchedImage
from relay.translate.bedrock.messages import convert_messages

# reasoning_effort -> Claude thinking budget_tokens (Bedrock's minimum is 1024).
REASONING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
MIN_REASONING_BUDGET = 1024
# Room left for the answer when the client sets no token limit but asks for reasoning.
ANSWER_TOKENS = 4096
JSON_OBJECT_TOOL = "json_object"
STOP_SEQUENCE_PATH = "/stop_sequence"
_METADATA_SAFE = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,\-.]")
_SERVICE_TIERS = {"priority": "priority", "flex": "flex", "default": "default", "reserved": "reserved"}

# Parameters no Bedrock model can honour, refused when set to a value that needs them.
REFUSED: dict[str, str] = {
    "audio": "Audio output is not supported",
    "prediction": "Predicted outputs are not supported",
    "web_search_options": "Web search is not supported",
    "top_logprobs": "Log probabilities are not available from Bedrock",
}


@dataclass(frozen=True)
class Defaults:
    """Deployment-wide settings that apply when a request does not say otherwise."""

    guardrail_id: str = ""
    guardrail_version: str = ""


@dataclass(frozen=True)
class ResponseOptions:
    """What the response mapping needs to know about the request."""

    model: str
    structured_tool: str | None = None  # a forced tool whose input is the JSON answer
    legacy_functions: bool = False  # answer with `function_call`, not `tool_calls`
    single_tool_call: bool = False  # parallel_tool_calls=false
    include_usage: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    stop_sequences: tuple[str, ...] = ()  # to name the one that ended the answer


StructuredMode = Literal["", "native", "tool"]


def structured_mode(request: ChatCompletionRequest, family: Family) -> StructuredMode:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return ""
    if fmt.type == "json_schema" and family.native_structured_output:
        return "native"
    return "tool"


def response_options(request: ChatCompletionRequest, family: Family) -> ResponseOptions:
    mode = structured_mode(request, family)
    tool = None
    if mode == "tool" and request.response_format is not None:
        schema = request.response_format.json_schema
        tool = schema.name if schema is not None else JSON_OBJECT_TOOL
    return ResponseOptions(
        model=request.model,
        structured_tool=tool,
        legacy_functions=bool(request.functions),
        single_tool_call=request.parallel_tool_calls is False,
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
        stop_sequences=(request.stop,) if isinstance(request.stop, str) else tuple(request.stop or ()),
    )


def _refuse_unsupported(request: ChatCompletionRequest, family: Family, extra: dict[str, Any]) -> None:
    for name, reason in REFUSED.items():
        if getattr(request, name) is not None:
            raise BadRequestError(f"{reason} ({name})", param=name)
    if request.logprobs:
        raise BadRequestError("Log probabilities are not available from Bedrock", param="logprobs")
    if request.modalities and request.modalities != ["text"]:
        raise BadRequestError("Only text output is supported", param="modalities")
    if request.store:
        raise BadRequestError("Bedrock does not store completions; omit store", param="store")
    for name in ("seed", "presence_penalty", "frequency_penalty", "logit_bias"):
        value = getattr(request, name)
        if value is None:
            continue
        if name not in family.native_params:
            raise BadRequestError(f"This model does not support {name}", param=name)
        extra[name] = value


def _tool_spec(fn: FunctionDefinition, family: Family) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": fn.name,
        "inputSchema": {"json": fn.parameters or {"type": "object", "properties": {}}},
    }
    if fn.description:
        spec["description"] = fn.description
    # `strict` is kept where Bedrock enforces it; elsewhere the schema still guides the model.
    if fn.strict and family.native_structured_output:
        spec["strict"] = True
    return {"toolSpec": spec}


def _choice(kind: str, family: Family, param: str, name: str | None = None) -> dict[str, Any]:
    if kind not in family.tool_choice:
        wanted = {"any": "required", "tool": "a named tool"}.get(kind, kind)
        raise BadRequestError(f"This model does not support tool_choice {wanted}", param=param)
    return {"tool": {"name": name}} if kind == "tool" else {kind: {}}


def _tool_config(
    request: ChatCompletionRequest, family: Family, history_has_tools: bool
) -> dict[str, Any] | None:
    legacy = request.functions is not None
    param = "functions" if legacy else "tools"
    choice_param = "function_call" if legacy else "tool_choice"
    definitions = request.functions or [t.function for t in request.tools or []]
    choice: Any = request.function_call if legacy else request.tool_choice
    if not definitions:
        if choice is not None and choice != "none" and choice != "auto":
            raise BadRequestError(f"{choice_param} needs {param}", param=choice_param)
        return None
    if not family.tools:
        raise BadRequestError("This model does not support tools", param=param)
    if choice == "none" and not history_has_tools:
        return None  # Converse has no "none": leaving the tools out has the same effect
    tools: list[dict[str, Any]] = []
    for index, fn in enumerate(definitions):
        tools.append(_tool_spec(fn, family))
        tool = None if legacy else (request.tools or [])[index]
        if tool is not None and tool.cache_control is not None:
            if not family.caching:
                raise BadRequestError("This model does not support prompt caching", param=f"tools[{index}]")
            tools.append(dict(CACHE_POINT))
    config: dict[str, Any] = {"tools": tools}
    if choice == "required":
        config["toolChoice"] = _choice("any", family, choice_param)
    elif isinstance(choice, NamedToolChoice | NamedFunction):
        name = choice.function.name if isinstance(choice, NamedToolChoice) else choice.name
        if name not in {fn.name for fn in definitions}:
            raise BadRequestError(f"tool_choice names an unknown tool {name!r}", param=choice_param)
        config["toolChoice"] = _choice("tool", family, choice_param, name)
    elif choice == "auto" and "auto" in family.tool_choice:
        config["toolChoice"] = {"auto": {}}
    return config


def _structured(request: ChatCompletionRequest, family: Family, kwargs: dict[str, Any]) -> None:
    mode = structured_mode(request, family)
    fmt = request.response_format
    if not mode or fmt is None:
        return
    schema = fmt.json_schema
    if mode == "native" and schema is not None:
        definition: dict[str, Any] = {"schema": json.dumps(schema.schema_ or {}), "name": schema.name}
        if schema.description:
            definition["description"] = schema.description
        kwargs["outputConfig"] = {
            "textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}
        }
        return
    # No JSON mode on this model: force a tool whose input schema is the answer's schema.
    if kwargs.get("toolConfig") or request.tools or request.functions:
        raise BadRequestError("This model cannot combine tools with response_format", param="response_format")
    if not family.tools or not {"tool", "any"} & family.tool_choice:
        raise BadRequestError("This model does not support structured output", param="response_format")
    if "thinking" in kwargs.get("additionalModelRequestFields", {}):
        raise BadRequestError(
            "Reasoning cannot be combined with response_format on this model", param="response_format"
        )
    name = schema.name if schema is not None else JSON_OBJECT_TOOL
    parameters = (schema.schema_ if schema is not None else None) or {"type": "object"}
    description = (
        schema.description if schema is not None else None
    ) or "Reply by calling this tool with the answer."
    spec = FunctionDefinition(name=name, description=description, parameters=parameters, strict=True)
    kind = "tool" if "tool" in family.tool_choice else "any"
    kwargs["toolConfig"] = {
        "tools": [_tool_spec(spec, family)],
        "toolChoice": _choice(kind, family, "response_format", name),
    }


def _reasoning(
    request: ChatCompletionRequest, family: Family, inference: dict[str, Any], extra: dict[str, Any]
) -> None:
    effort = request.reasoning_effort
    if effort is None:
        return
    if family.reasoning != "budget":
        why = "always reasons at a fixed effort" if family.reasoning == "always" else "does not reason"
        raise BadRequestError(f"This model {why}; omit reasoning_effort", param="reasoning_effort")
    budget = REASONING_BUDGETS[effort]
    limit = inference.get("maxTokens")
    if limit is None:
        inference["maxTokens"] = budget + ANSWER_TOKENS
    else:
        # OpenAI counts reasoning inside max_completion_tokens; Claude needs budget < max_tokens.
        budget = min(budget, limit - 1)
        if budget < MIN_REASONING_BUDGET:
            raise BadRequestError(
                f"Reasoning needs max_completion_tokens above {MIN_REASONING_BUDGET}",
                param="max_completion_tokens",
            )
    extra["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _request_metadata(request: ChatCompletionRequest) -> dict[str, str]:
    pairs = dict(request.metadata or {})
    if request.user is not None:
        pairs["user"] = request.user
    # Bedrock's requestMetadata allows a restricted alphabet; other characters become '_'.
    return {_METADATA_SAFE.sub("_", k)[:256]: _METADATA_SAFE.sub("_", v)[:256] for k, v in pairs.items() if k}


def to_converse(
    request: ChatCompletionRequest,
    family: Family,
    *,
    model_id: str,
    images: Mapping[str, FetchedImage] | None = None,
    defaults: Defaults = Defaults(),
) -> dict[str, Any]:
    """Keyword arguments for `converse` / `converse_stream`."""
    extra: dict[str, Any] = {}
    _refuse_unsupported(request, family, extra)
    cache_system = bool(request.cache_system_prompt)
    if request.cache_system_prompt and not family.caching:
        raise BadRequestError("This model does not support prompt caching", param="cache_system_prompt")
    system, messages = convert_messages(
        request.messages, family, images or {}, cache_system=cache_system and family.caching
    )
    kwargs: dict[str, Any] = {"modelId": model_id, "messages": messages}
    if system:
        kwargs["system"] = system
    inference: dict[str, Any] = {}
    max_tokens = request.max_completion_tokens or request.max_tokens
    if max_tokens is not None:
        limit = family.max_output_tokens
        if limit is not None and max_tokens > limit:
            name = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
            raise BadRequestError(
                f"{name} is too large: {max_tokens}. This model supports at most {limit} completion tokens",
                param=name,
            )
        inference["maxTokens"] = max_tokens
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop:
        inference["stopSequences"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
        if family.names_stop_sequence:
            # Converse says only that a stop sequence matched; Claude's own field says which.
            kwargs["additionalModelResponseFieldPaths"] = [STOP_SEQUENCE_PATH]
    if request.top_k is not None:
        if family.top_k_path is None:
            raise BadRequestError("This model does not support top_k", param="top_k")
        _set_path(extra, family.top_k_path, request.top_k)
    _reasoning(request, family, inference, extra)
    if inference:
        kwargs["inferenceConfig"] = inference
    history_has_tools = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    tool_config = _tool_config(request, family, history_has_tools)
    if tool_config is not None:
        kwargs["toolConfig"] = tool_config
    for name, value in request.extra_fields.items():
        if not family.passthrough:
            raise BadRequestError(f"Unknown parameter {name!r} for this model", param=name)
        extra[name] = value
    if extra:
        kwargs["additionalModelRequestFields"] = extra
    _structured(request, family, kwargs)
    metadata = _request_metadata(request)
    if metadata:
        kwargs["requestMetadata"] = metadata
    guardrail = request.guardrail_config
    if guardrail is not None:
        kwargs["guardrailConfig"] = {
            "guardrailIdentifier": guardrail.guardrail_identifier,
            "guardrailVersion": guardrail.guardrail_version,
            **({"trace": guardrail.trace} if guardrail.trace else {}),
        }
    elif defaults.guardrail_id:
        kwargs["guardrailConfig"] = {
            "guardrailIdentifier": defaults.guardrail_id,
            "guardrailVersion": defaults.guardrail_version or "DRAFT",
        }
    if request.service_tier is not None and request.service_tier != "auto":
        tier = _SERVICE_TIERS.get(request.service_tier)
        if tier is None:
            raise BadRequestError(f"Unknown service_tier {request.service_tier!r}", param="service_tier")
        kwargs["serviceTier"] = {"type": tier}
    return kwargs
