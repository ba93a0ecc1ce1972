"""Step 2 of LEP: resize a model to a new tokenizer and initialise new rows from their old sub-tokens.

E_new = T · E_old and H_new = T_out · H_old (separately; a tied model is given an lm_head of its own unless
`untie` is false, then H is E), T and T_out weighting each new token's old pieces by a recipe
(lep/init_recipes.py). A row whose norm comes out below 1e-12 (a copy or mean of all-zero rows, such
as a base's untrained reserved tokens) gets the mean of all old rows instead, as the authors' code
does. The output dir is an ordinary HF model dir with the new tokenizer, plus T
(`lep_averaging_operator.tensors`, safetensors format), which Conversion reuses, and a manifest.
"""

import json
from importlib.metadata import version
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast

from lep.atomic_write import write_json
from lep.averaging_operator import apply_operator, build_operator, copied_rows, operator_rows, save_operator
from lep.checkpoint_io import INPUT_EMBEDDINGS, LM_HEAD, Checkpoint, write_checkpoint
from lep.errors import TokenizerError
from lep.init_recipes import WEIGHTS
from lep.output_margin import margin_rows, rest_log_probs
from lep.reference_tokenizers import load_tokenizer
from lep.stage_settings import InitSettings, init_problems, unties
from lep.staging import check_free, staged_dir
from lep.validation import raise_problems
from lep.vocab_adaptation import ID_MAP, MANIFEST

INIT_MANIFEST = "lep_init.json"
# safetensors inside, but not named *.safetensors: vLLM loads every *.safetensors file of a model dir as weights
OPERATOR_FILE = "lep_averaging_operator.tensors"
ZERO_NORM = 1e-12


def initial_rows(operator: torch.Tensor, old: torch.Tensor) -> tuple[torch.Tensor, int]:
    """T · old, with every row of norm < 1e-12 replaced by the mean old row; and how many were."""
    new = apply_operator(operator, old)
    zero = torch.linalg.vector_norm(new.float(), dim=1) < ZERO_NORM
    if zero.any():
        new[zero] = old[: operator.shape[1]].float().mean(0).to(new.dtype)
    return new, int(zero.sum())


def check_tokenizer_fits(checkpoint: Checkpoint, tokenizer: PreTrainedTokenizerFast, label: str) -> None:
    """A model and its tokenizer belong together: every id has a row and bos/eos ids agree."""
    rows = checkpoint.shape(INPUT_EMBEDDINGS)[0]
    if len(tokenizer) > rows:
        raise TokenizerError(
            f"tokenizer {label} has {len(tokenizer)} tokens but {checkpoint.path} has only {rows} embedding rows: "
            "they do not belong together (pass the model's own tokenizer)"
        )
    model_bos = checkpoint.config.get("bos_token_id")
    if isinstance(model_bos, int) and tokenizer.bos_token_id is not None and model_bos != tokenizer.bos_token_id:
        raise TokenizerError(
            f"{checkpoint.path} has bos_token_id {model_bos} but tokenizer {label} puts its BOS at "
            f"{tokenizer.bos_token_id}: they do not belong together"
        )


def special_id_map(old: PreTrainedTokenizerFast, new: PreTrainedTokenizerFast) -> dict[int, int]:
    """Old special-token ids -> new ids, matched by name."""
    new_ids = {token.content: i for i, token in new.added_tokens_decoder.items()}
    return {i: new_ids[t.content] for i, t in old.added_tokens_decoder.items() if t.content in new_ids}


def _id_map(tokenizer_dir: Path) -> dict[int, int] | None:
    manifest_path = Path(tokenizer_dir) / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if not manifest.get("id_map"):
        return None
    return {int(k): v for k, v in json.loads((Path(tokenizer_dir) / ID_MAP).read_text(encoding="utf-8")).items()}


def _lower_by_margin(head: torch.Tensor, model: Path, rows: list[list[int]], bos: int | None) -> dict[str, float]:
    """`first-margin`: lower, in place, each several-piece new row of `head` (its first piece's) by the original
    model's log-probability of the rest of its pieces (lep/output_margin.py); what it did, for the manifest."""
    pieces = {i: r for i, r in enumerate(rows) if len(r) > 1}
    if not pieces:
        return {"tokens": 0}
    margins, states = rest_log_probs(model, pieces, bos)
    ids = torch.tensor(sorted(margins))
    values = torch.tensor([margins[i] for i in sorted(margins)])
    head[ids], share = margin_rows(head[ids], values, states)
    return {"tokens": len(ids), "mean_log_prob_of_rest": float(values.mean()), "share_h_dot_mu_positive": share}


def initialise(
    model: Path,
    tokenizer: Path,
    out: Path,
    original_tokenizer: str | None = None,
    overwrite: bool = False,
    settings: InitSettings | None = None,
) -> Path:
    """Write `out`: `model` resized to `tokenizer`, new input rows by T of `settings.recipe`, output rows by T of
    `settings.output_recipe` (an untied model's, or a tied one's that `untie` gives an lm_head of its own)."""
    settings = settings or InitSettings()
    out = Path(out)
    check_free(out, overwrite)
    checkpoint = Checkpoint(model)
    raise_problems("init settings", init_problems(settings, checkpoint.tied))
    untie = unties(settings, checkpoint.tied)
    old = load_tokenizer(original_tokenizer or checkpoint.path)
    check_tokenizer_fits(checkpoint, old, original_tokenizer or str(checkpoint.path))
    new = load_tokenizer(tokenizer)
    rows = operator_rows(new, old, _id_map(tokenizer))
    old_tokens = old.convert_ids_to_tokens(list(range(len(old))))

    def operator_of(recipe: str) -> torch.Tensor:
        weights = WEIGHTS[recipe]
        return build_operator(rows, len(old), lambda ids: weights([old_tokens[i] for i in ids]))

    operator = operator_of(settings.recipe)
    output_recipe = settings.recipe if settings.output_recipe == "input" else settings.output_recipe
    replace, mean_filled, margin = {}, {}, None
    replace[INPUT_EMBEDDINGS], mean_filled["input"] = initial_rows(operator, checkpoint.input_embeddings())
    if not checkpoint.tied or untie:
        weights = "first" if output_recipe == "first-margin" else output_recipe
        output = operator if weights == settings.recipe else operator_of(weights)
        replace[LM_HEAD], mean_filled["output"] = initial_rows(output, checkpoint.lm_head())
        if output_recipe == "first-margin":
            margin = _lower_by_margin(replace[LM_HEAD], checkpoint.path, rows, old.bos_token_id)
    copies = int(copied_rows(operator).sum())
    config = {"vocab_size": len(new)} | ({"tie_word_embeddings": False} if untie else {})
    with staged_dir(out) as staging:
        write_checkpoint(checkpoint, staging, replace, config, special_id_map(old, new))
        new.save_pretrained(staging)
        save_operator(operator, staging / OPERATOR_FILE)
        write_json(
            staging / INIT_MANIFEST,
            {
                "stage": "init",
                "model": str(checkpoint.path),
                "original_tokenizer": original_tokenizer or str(checkpoint.path),
                "tokenizer": str(Path(tokenizer).resolve()) if Path(tokenizer).exists() else str(tokenizer),
                "old_vocab_size": len(old),
                "new_vocab_size": len(new),
                "copied_rows": copies,
                "averaged_rows": len(new) - copies,
                "zero_rows_given_the_mean": mean_filled,
                "tied": checkpoint.tied and not untie,
                "untied": untie,
                "recipe": settings.recipe,
                "output_recipe": output_recipe,
                **({"margin": margin} if margin else {}),
                "operator": OPERATOR_FILE,
                "lep_bench_version": version("lep-bench"),
            },
        )
    return out
