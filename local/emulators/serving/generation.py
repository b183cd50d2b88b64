"""A causal language model on CPU and its token-by-token generate loop (serving process side).

Loads what the trainer wrote: merged weights, or a PEFT LoRA adapter over the base model's
weights. Adapters of adapter inference components are loaded beside the base weights and chosen
per request, as LMI does for LoRA adapter components.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


class ContainerError(Exception):
    """A request the container refuses; the status and message reach the caller as the container's."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@dataclass
class Sampling:
    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict)


@dataclass
class Step:
    """One generated piece: the new text, tokens so far, and the finish reason on the last step."""

    text: str
    tokens: int
    finish: str | None = None


def is_adapter(directory: Path) -> bool:
    return (directory / "adapter_config.json").is_file()


class TextModel:
    def __init__(self, model_dir: Path, base_dir: Path | None) -> None:
        torch.set_num_threads(1)  # the machine is shared; one core per serving process is plenty
        weights = base_dir if is_adapter(model_dir) else model_dir
        if weights is None:
            raise ValueError(f"{model_dir} holds a LoRA adapter but no base model weights were given")
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(str(weights), local_files_only=True)
        if is_adapter(model_dir):
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(model_dir)).merge_and_unload()
        self.model = model.eval()
        self.adapters: set[str] = set()
        self.context = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.lock = threading.Lock()  # one generation at a time: the weights and adapter choice are shared

    def load_adapter(self, name: str, directory: Path) -> None:
        """Add an adapter inference component's LoRA weights, selectable by name per request."""
        from peft import PeftModel

        with self.lock:
            if not self.adapters:
                self.model = PeftModel.from_pretrained(self.model, str(directory), adapter_name=name).eval()
            else:
                self.model.load_adapter(str(directory), adapter_name=name)
            self.adapters.add(name)

    def unload_adapter(self, name: str) -> None:
        with self.lock:
            if name in self.adapters:
                self.model.delete_adapter(name)
                self.adapters.discard(name)

    def chat_prompt(self, messages: list[dict[str, str]]) -> list[int]:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ContainerError(400, "this model's tokenizer has no chat template; use /v1/completions")
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.encode(str(text))

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompt: list[int], sampling: Sampling, adapter: str | None) -> Iterator[Step]:
        """The completion piece by piece (the last step carries the finish reason); refusals raise now."""
        room = self.context - len(prompt)
        if room <= 0 or (sampling.max_tokens is not None and sampling.max_tokens > room):
            asked = sampling.max_tokens or 1
            raise ContainerError(
                400,
                f"This model's maximum context length is {self.context} tokens. However, you requested "
                f"{len(prompt) + asked} tokens ({len(prompt)} in the prompt, {asked} in the completion). "
                "Please reduce the length of the prompt or completion.",
            )
        if adapter is not None and adapter not in self.adapters:
            raise ContainerError(404, f"adapter {adapter} is not loaded")
        return self._locked(prompt, sampling, adapter, sampling.max_tokens or room)

    def _locked(
        self, prompt: list[int], sampling: Sampling, adapter: str | None, limit: int
    ) -> Iterator[Step]:
        with self.lock:
            yield from self._loop(prompt, sampling, adapter, limit)

    def _loop(self, prompt: list[int], sampling: Sampling, adapter: str | None, limit: int) -> Iterator[Step]:
        generator = torch.Generator().manual_seed(sampling.seed) if sampling.seed is not None else None
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        stop_ids = {self.tokenizer.eos_token_id}
        stop_ids |= set(configured) if isinstance(configured, list) else {configured}
        generated: list[int] = []
        emitted, past = "", None
        inputs = torch.tensor([prompt])
        counts: dict[int, int] = {}
        with torch.no_grad(), self._adapter(adapter):
            for _ in range(limit):
                output = self.model(input_ids=inputs, past_key_values=past, use_cache=True)
                past = output.past_key_values
                token = self._pick(output.logits[0, -1].float(), sampling, counts, generator)
                if token in stop_ids:
                    text = self.tokenizer.decode(generated, skip_special_tokens=True)
                    rest = text[len(emitted) :] if text.startswith(emitted) else ""
                    # The end-of-sequence token counts as generated, as vLLM counts it.
                    yield Step(rest, len(generated) + 1, "stop")
                    return
                generated.append(token)
                counts[token] = counts.get(token, 0) + 1
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                cut = min((text.find(s) for s in sampling.stop if s and s in text), default=-1)
                if cut >= 0:
                    yield Step(text[len(emitted) : cut] if cut > len(emitted) else "", len(generated), "stop")
                    return
                # Hold text back while it could still become a stop sequence or is not yet a prefix.
                safe = len(text) - max((len(s) - 1 for s in sampling.stop), default=0)
                if text.startswith(emitted) and safe > len(emitted):
                    yield Step(text[len(emitted) : safe], len(generated))
                    emitted = text[:safe]
                inputs = torch.tensor([[token]])
            text = self.tokenizer.decode(generated, skip_special_tokens=True)
            yield Step(text[len(emitted) :] if text.startswith(emitted) else "", len(generated), "length")

    def _adapter(self, adapter: str | None) -> Any:
        import contextlib

        if not self.adapters:
            return contextlib.nullcontext()
        if adapter is None:
            return self.model.disable_adapter()
        self.model.set_adapter(adapter)
        return contextlib.nullcontext()

    @staticmethod
    def _pick(
        logits: torch.Tensor, sampling: Sampling, counts: dict[int, int], generator: torch.Generator | None
    ) -> int:
        for token, bias in sampling.logit_bias.items():
            if 0 <= token < logits.shape[0]:
                logits[token] += bias
        for token, count in counts.items():
            logits[token] -= sampling.presence_penalty + sampling.frequency_penalty * count
        if sampling.temperature == 0:
            return int(torch.argmax(logits))
        logits = logits / sampling.temperature
        if sampling.top_k > 0:
            kth = torch.topk(logits, min(sampling.top_k, logits.shape[0])).values[-1]
            logits[logits < kth] = float("-inf")
        probabilities = torch.softmax(logits, dim=-1)
        if sampling.top_p < 1.0:
            ordered, order = torch.sort(probabilities, descending=True)
            outside = torch.cumsum(ordered, dim=-1) - ordered > sampling.top_p
            ordered[outside] = 0.0
            probabilities = torch.zeros_like(probabilities).scatter(0, order, ordered)
        return int(torch.multinomial(probabilities, 1, generator=generator))
