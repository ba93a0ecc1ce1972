"""Step 4 of LEP: carry the adapted base's learned embeddings into the instruct model (docs/method.md §5).

Each mode finds d × d maps and sets I_new = I_cpt · P_in, H_new = H_cpt · P_out:
swap (identity), overlap (least squares over tokens both vocabularies share), conversion
(least squares over all new rows through the averaging operator T, the paper's best), bypass
(least squares over the whole old vocabulary). chat-vector is the baseline of adding the
instruct − base weight delta to the adapted base: to every block, and to the embedding and LM-head
rows of tokens the old vocabulary has (new tokens have no delta). The instruct model keeps its
transformer blocks; its special/chat tokens keep their own rows, copied unprojected.
"""

from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

import torch
from tokenizers import AddedToken
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from lep.atomic_write import write_json
from lep.averaging_operator import apply_operator, copied_pairs, load_operator
from lep.checkpoint_io import INPUT_EMBEDDINGS, LM_HEAD, Checkpoint, write_checkpoint
from lep.embedding_init import OPERATOR_FILE, check_tokenizer_fits
from lep.errors import InputError
from lep.least_squares import Fit, solve
from lep.reference_tokenizers import load_tokenizer
from lep.stage_settings import MODES
from lep.staging import check_free, staged_dir
from lep.token_bytes import vocabulary_bytes
from lep.tokenizer_json import wrap_like

PROPAGATE_MANIFEST = "lep_propagate.json"
CHECK_PROMPTS = [
    "The capital of France is",
    "Water boils at a temperature of",
    "Once upon a time, there was a",
    "The quick brown fox jumps over the",
    "To make a cup of tea, first",
    "The largest planet in our solar system is",
    "In 1492, Columbus sailed across the",
    "A good way to learn a new language is to",
]


@dataclass
class PropagationReport:
    """What a propagation did and how well its fits and the result agree with the instruct model."""

    mode: str
    fits: dict[str, dict] = field(default_factory=dict)
    copied_special_tokens: list[str] = field(default_factory=list)
    argmax_agreement: float | None = None
    prompts_checked: int = 0


def shared_token_pairs(new: PreTrainedTokenizerFast, old: PreTrainedTokenizerFast) -> tuple[list[int], list[int]]:
    """(new ids, old ids) of ordinary tokens with the same bytes in both vocabularies."""
    old_by_bytes = {b: i for i, b in sorted(vocabulary_bytes(old).items(), reverse=True)}
    pairs = sorted((i, old_by_bytes[b]) for i, b in vocabulary_bytes(new).items() if b in old_by_bytes)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _fit(
    mode: str,
    base: torch.Tensor,
    inst: torch.Tensor,
    operator: torch.Tensor | None,
    overlap: tuple[list[int], list[int]],
) -> Fit:
    old = operator.shape[1] if operator is not None else base.shape[0]
    if mode == "overlap":
        return solve(base[overlap[1]].float(), inst[overlap[1]].float())
    if mode == "conversion":
        return solve(apply_operator(operator, base.float()), apply_operator(operator, inst[:old].float()))
    if mode == "bypass":
        return solve(base[:old].float(), inst[:old].float())
    raise ValueError(mode)


def old_vocabulary_pairs(
    adapted: Path, new: PreTrainedTokenizerFast, old: PreTrainedTokenizerFast
) -> tuple[list[int], list[int]]:
    """(new ids, old ids) of tokens the old vocabulary has: T's copied rows, else tokens with the same bytes."""
    if (Path(adapted) / OPERATOR_FILE).is_file():
        new_ids, old_ids = copied_pairs(load_operator(Path(adapted) / OPERATOR_FILE))
        return new_ids.tolist(), old_ids.tolist()
    return shared_token_pairs(new, old)


def with_chat_vector(
    adapted: torch.Tensor, base: torch.Tensor, instruct: torch.Tensor, pairs: tuple[list[int], list[int]]
) -> torch.Tensor:
    """Adapted rows plus (instruct − base) of the old token each copies; other rows as they are."""
    new_ids, old_ids = (torch.as_tensor(ids, dtype=torch.int64) for ids in pairs)
    out = adapted.double()
    out[new_ids] += instruct[old_ids].double() - base[old_ids].double()
    return out.to(adapted.dtype)


def _output_tokenizer(
    adapted: PreTrainedTokenizerFast, instruct: PreTrainedTokenizerFast
) -> tuple[PreTrainedTokenizerFast, list[str]]:
    """The adapted vocabulary plus instruct-only special tokens, with the instruct model's roles and template."""
    backend = adapted.backend_tokenizer
    present = set(adapted.get_vocab())
    extra = [t for t in instruct.added_tokens_decoder.values() if t.content not in present]
    backend.add_special_tokens([AddedToken(t.content, special=True, normalized=False) for t in extra])
    tokenizer = wrap_like(backend, instruct)
    return tokenizer, [t.content for t in extra]


def _special_rows(out_tokenizer: PreTrainedTokenizerFast, instruct: PreTrainedTokenizerFast) -> dict[int, int]:
    """Output id -> instruct id for every instruct special token: their rows are copied unprojected."""
    out_ids = out_tokenizer.get_vocab()
    return {out_ids[t.content]: i for i, t in instruct.added_tokens_decoder.items() if t.content in out_ids}


def _matrix(
    adapted: torch.Tensor, instruct: torch.Tensor, projection: torch.Tensor | None, rows: int, specials: dict[int, int]
) -> torch.Tensor:
    """Projected adapted rows, grown to `rows`, with the instruct model's special rows copied in."""
    projected = adapted.float() if projection is None else (adapted.double() @ projection).float()
    out = torch.zeros(rows, adapted.shape[1], dtype=torch.float32)
    out[: projected.shape[0]] = projected
    for new_id, inst_id in specials.items():
        out[new_id] = instruct[inst_id].float()
    return out.to(instruct.dtype)


def argmax_agreement(
    model_dir: Path,
    model_tokenizer: PreTrainedTokenizerFast,
    reference_dir: Path,
    reference_tokenizer: PreTrainedTokenizerFast,
    prompts: list[str],
) -> float:
    """Share of prompts whose next-token argmax, over tokens both vocabularies share, is the same token."""
    ours, theirs = shared_token_pairs(model_tokenizer, reference_tokenizer)
    models = [AutoModelForCausalLM.from_pretrained(p, dtype=torch.float32).eval() for p in (model_dir, reference_dir)]
    agree = 0
    with torch.no_grad():
        for prompt in prompts:
            a = models[0](**model_tokenizer(prompt, return_tensors="pt")).logits[0, -1, ours]
            b = models[1](**reference_tokenizer(prompt, return_tensors="pt")).logits[0, -1, theirs]
            agree += int(a.argmax() == b.argmax())
    return agree / len(prompts)


def propagate(
    mode: str, base: Path, adapted: Path, instruct: Path, out: Path, check: bool = True, overwrite: bool = False
) -> PropagationReport:
    """Write `out`: the instruct model with the adapted vocabulary's embeddings, propagated by `mode`."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    out = Path(out)
    check_free(out, overwrite)
    base_ckpt, adapted_ckpt, inst_ckpt = Checkpoint(base), Checkpoint(adapted), Checkpoint(instruct)
    old_tok, new_tok, inst_tok = (load_tokenizer(c.path) for c in (base_ckpt, adapted_ckpt, inst_ckpt))
    for ckpt, tok in ((base_ckpt, old_tok), (adapted_ckpt, new_tok), (inst_ckpt, inst_tok)):
        check_tokenizer_fits(ckpt, tok, str(ckpt.path))
    if base_ckpt.shape(INPUT_EMBEDDINGS)[1] != inst_ckpt.shape(INPUT_EMBEDDINGS)[1]:
        raise InputError(f"{base_ckpt.path} and {inst_ckpt.path} have different hidden sizes: not the same base model")
    operator = None
    if mode == "conversion":
        if not (adapted_ckpt.path / OPERATOR_FILE).is_file():
            raise InputError(f"conversion needs {OPERATOR_FILE} in {adapted_ckpt.path} (written by 'adapt init')")
        operator = load_operator(adapted_ckpt.path / OPERATOR_FILE)
    overlap = shared_token_pairs(new_tok, old_tok) if mode == "overlap" else ([], [])
    old_pairs = old_vocabulary_pairs(adapted_ckpt.path, new_tok, old_tok) if mode == "chat-vector" else ([], [])

    report = PropagationReport(mode=mode)
    matrices = {"input": (base_ckpt.input_embeddings(), inst_ckpt.input_embeddings(), adapted_ckpt.input_embeddings())}
    # an adapted model whose init untied its head (`adapt init --untie`) unties the instruct model's too: its output
    # rows have their own recipe, which one tied matrix would drop
    untie = inst_ckpt.tied and not adapted_ckpt.tied
    if not inst_ckpt.tied or untie:
        matrices["output"] = (base_ckpt.lm_head(), inst_ckpt.lm_head(), adapted_ckpt.lm_head())
    out_tokenizer, report.copied_special_tokens = _output_tokenizer(new_tok, inst_tok)
    specials = _special_rows(out_tokenizer, inst_tok)
    replace = {}
    for name, (base_m, inst_m, adapted_m) in matrices.items():
        projection = None
        if mode in ("overlap", "conversion", "bypass"):
            fit = _fit(mode, base_m, inst_m, operator, overlap)
            projection = fit.map
            report.fits[name] = {k: v for k, v in asdict(fit).items() if k != "map"}
        rows = adapted_m[: len(new_tok)]
        if mode == "chat-vector":
            rows = with_chat_vector(rows, base_m, inst_m, old_pairs)
        replace[INPUT_EMBEDDINGS if name == "input" else LM_HEAD] = _matrix(
            rows, inst_m, projection, len(out_tokenizer), specials
        )

    transform = None
    if mode == "chat-vector":

        def transform(name: str, tensor: torch.Tensor) -> torch.Tensor:
            delta = tensor.double() - base_ckpt.tensor(name).double()
            return (adapted_ckpt.tensor(name).double() + delta).to(tensor.dtype)

    inst_ids = {t.content: i for i, t in inst_tok.added_tokens_decoder.items()}
    id_map = {i: out_tokenizer.convert_tokens_to_ids(c) for c, i in inst_ids.items()}
    with staged_dir(out) as staging:
        config = {"vocab_size": len(out_tokenizer)} | ({"tie_word_embeddings": False} if untie else {})
        write_checkpoint(inst_ckpt, staging, replace, config, id_map, transform)
        out_tokenizer.save_pretrained(staging)
        if check:
            report.argmax_agreement = argmax_agreement(staging, out_tokenizer, inst_ckpt.path, inst_tok, CHECK_PROMPTS)
            report.prompts_checked = len(CHECK_PROMPTS)
        write_json(
            staging / PROPAGATE_MANIFEST,
            {
                "stage": "propagate",
                **asdict(report),
                "base": str(base_ckpt.path),
                "adapted": str(adapted_ckpt.path),
                "instruct": str(inst_ckpt.path),
                "vocab_size": len(out_tokenizer),
                "lep_bench_version": version("lep-bench"),
            },
        )
    return report
