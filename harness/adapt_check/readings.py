"""What `adapt check` reads off one model, in-process with transformers (a 135M model on CPU answers 200 short
prompts in about a minute, where a vLLM server takes that long to start):

- its greedy copy of each held-out sentence after a few examples (plain text, so base and instruct models read
  the same prompt; the examples' part read once and its cache reused), cut at the first line end, with the
  token ids it wrote;
- the log-probability of every token of each sentence read after the model's start token (BOS, else EOS), with
  the character where each token ends: bits per character and the new tokens' gap come from these.
"""

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from harness.adapt_check.held_out import HeldOut
from lep.errors import LepError

BATCH = 16
EXTRA_TOKENS = 8  # a copy may take this many tokens more than the sentence needs in the model's own tokens
INSTRUCTION = {"ru": "Перепиши текст без изменений.", "en": "Rewrite the text without changes."}
LABELS = {"ru": ("Текст", "Копия"), "en": ("Text", "Copy")}


@dataclass
class Scored:
    """One sentence read by a model: its token ids, the character each ends at, and each one's log p (nats)."""

    ids: list[int]
    ends: list[int]
    log_probs: list[float]


@dataclass
class LanguageReading:
    copies: list[str] = field(default_factory=list)  # the model's copy of each sentence, first line, stripped
    copy_ids: list[list[int]] = field(default_factory=list)  # the tokens it wrote for it, up to the line end
    scored: list[Scored] = field(default_factory=list)


@dataclass
class ModelReading:
    languages: dict[str, LanguageReading]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "ModelReading":
        languages = {
            lang: LanguageReading(r["copies"], r["copy_ids"], [Scored(**s) for s in r["scored"]])
            for lang, r in value["languages"].items()
        }
        return cls(languages, value["seconds"])


def copy_prompt(lang: str, shots: list[str]) -> tuple[str, str]:
    """The copy prompt as its part every sentence shares and the part with the sentence ({} marks it): the
    shared part is read once, its cache reused for every sentence."""
    text, copy = LABELS[lang]
    examples = "".join(f"{text}: {s}\n{copy}: {s}\n\n" for s in shots)
    return f"{INSTRUCTION[lang]}\n\n{examples}{text}:", " {}\n" + f"{copy}:"


def start_token(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token a text is read after: BOS, else EOS (GPT-2 style models)."""
    for token in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token is not None:
            return int(token)
    raise LepError(f"tokenizer {tokenizer.name_or_path} has neither a BOS nor an EOS token to start a text with")


def _line_end(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> tuple[str, list[int]]:
    """The generated text up to its first line end, and the ids that wrote it."""
    kept: list[int] = []
    for token in ids:
        if token in (tokenizer.eos_token_id, tokenizer.pad_token_id):
            break
        kept.append(token)
        if "\n" in tokenizer.decode(kept[-1:]):
            break
    return tokenizer.decode(kept, skip_special_tokens=True).split("\n")[0].strip(), kept


def _copies(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, lang: str, held: HeldOut, out: LanguageReading
) -> None:
    """One sentence at a time after the shared part's cache: padded batches were no faster on a 2-core CPU
    (SmolLM2, Russian: 81 s for a batch of 4, about 15 s a sentence alone)."""
    shared, own = copy_prompt(lang, held.shots)
    prefix = [start_token(tokenizer), *tokenizer(shared, add_special_tokens=False).input_ids]
    with torch.no_grad():
        prefix_cache = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([prefix]), past_key_values=prefix_cache, use_cache=True)
    for sentence in held.sentences:
        ids = torch.tensor([prefix + tokenizer(own.format(sentence), add_special_tokens=False).input_ids])
        with torch.no_grad():
            generated = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                past_key_values=copy.deepcopy(prefix_cache),
                do_sample=False,
                max_new_tokens=len(tokenizer(sentence, add_special_tokens=False).input_ids) + EXTRA_TOKENS,
                stop_strings=["\n"],
                tokenizer=tokenizer,
                pad_token_id=tokenizer.pad_token_id,
            )
        copied, written = _line_end(tokenizer, generated[0, ids.shape[1] :].tolist())
        out.copies.append(copied)
        out.copy_ids.append(written)


def _scored(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, sentences: list[str]) -> list[Scored]:
    head = start_token(tokenizer)
    encoded = [tokenizer(s, add_special_tokens=False, return_offsets_mapping=True) for s in sentences]
    scored = []
    for start in range(0, len(sentences), BATCH):
        chunk = encoded[start : start + BATCH]
        rows = [[head, *e.input_ids] for e in chunk]
        width = max(map(len, rows))
        tokens = torch.tensor([r + [0] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        with torch.no_grad():
            log_probs = torch.log_softmax(model(input_ids=tokens, attention_mask=mask).logits.float(), dim=-1)
        for row, (e, r) in enumerate(zip(chunk, rows)):
            picked = log_probs[row, : len(r) - 1].gather(1, torch.tensor(r[1:])[:, None])[:, 0]
            ends = [end for _, end in e.offset_mapping]
            scored.append(Scored(list(e.input_ids), ends, [float(x) for x in picked]))
    return scored


def read_model(
    path: Path, held: dict[str, HeldOut], say: Callable[[str], None], clock: Callable[[], float]
) -> ModelReading:
    """Copies and token log-probabilities of one model on every language's held-out sentences."""
    started = clock()
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    languages = {}
    for lang, sentences in held.items():
        say(f"{path.name}: {lang} copies and log-probabilities of {len(sentences.sentences)} sentences")
        reading = LanguageReading()
        _copies(model, tokenizer, lang, sentences, reading)
        reading.scored = _scored(model, tokenizer, sentences.sentences)
        languages[lang] = reading
    return ModelReading(languages, round(clock() - started, 1))
