"""Build the `tiny-local` base model: a word-level tokenizer with a chat template and a 2-layer Llama.

Run with the training environment's Python (`.venv-train/bin/python local/tiny_model.py <dir>`);
`local.base_models` does that once, caches the folder and uploads it where the pipeline expects
base models (`s3://<bucket>/base-models/tiny-local/`). Randomly initialised: it trains on CPU in
seconds and learns little, which is all the local stack needs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

# Words a local dataset is likely to use; anything else tokenises as <unk>, which still trains.
_WORDS = (
    "a an the is are was were be to of and or in on at for with by from as it this that what which who how why "
    "when where yes no not maybe please thank you hello hi bye good bad great awful fine okay ok positive negative "
    "neutral happy sad angry love hate like movie film food service product book day night question answer "
    "capital city country france paris italy rome spain madrid germany berlin england london japan tokyo "
    "red green blue yellow black white cat dog bird fish one two three four five six seven eight nine ten "
    "zero 0 1 2 3 4 5 6 7 8 9 + - = ? ! . , : plus minus times equals say tell me word number sum count "
)
VOCABULARY = _WORDS.split()
SPECIAL_TOKENS = ["<pad>", "<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def build(directory: Path, seed: int = 0, corpus: Iterable[str] | None = None) -> Path:
    """A word-level tokenizer trained on `corpus` (default: VOCABULARY) with the chat template,
    and a randomly initialised 2-layer, 32-wide Llama, saved to `directory`."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(unk_token="<unk>"))  # noqa: S106 - a token, not a secret
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    texts = list(corpus) if corpus is not None else [" ".join(VOCABULARY)]
    backend.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",  # noqa: S106 - tokens, not secrets
        unk_token="<unk>",  # noqa: S106
        bos_token="<s>",  # noqa: S106
        eos_token="</s>",  # noqa: S106
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(str(directory))
    return directory


if __name__ == "__main__":
    build(Path(sys.argv[1]))
