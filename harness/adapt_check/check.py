"""`lep-bench adapt check`: read the original model and each adapted one on the same held-out sentences, then
summarise and write the report. Each model's reading is kept in `out/readings/NAME.json` under the content
digest of its folder, so a killed check resumes with the models it finished, and a changed model is read again."""

import json
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from harness.adapt_check.held_out import HeldOut
from harness.adapt_check.readings import ModelReading, read_model
from harness.adapt_check.report import write_report
from harness.adapt_check.summary import Checked, summarise
from lep.atomic_write import write_json
from lep.content_digest import path_digest
from lep.embedding_init import INIT_MANIFEST
from lep.embedding_training import TRAIN_MANIFEST
from lep.errors import LepError
from lep.propagation import PROPAGATE_MANIFEST

ORIGINAL = "original"


def _reading(name: str, path: Path, held: dict[str, HeldOut], out: Path, say: Callable[[str], None]) -> ModelReading:
    """The model's reading from the cache when its folder and the sentences are unchanged, else read afresh."""
    key = {"digest": path_digest(path), "held_out": {lang: [h.shots, h.sentences] for lang, h in held.items()}}
    cached = out / "readings" / f"{name}.json"
    if cached.is_file():
        try:
            stored = json.loads(cached.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            stored = {}  # not a reading this command wrote: read the model again and replace it
        if stored.get("key") == key:
            say(f"{name}: read before, reused ({cached})")
            return ModelReading.from_json(stored["reading"])
    reading = read_model(path, held, say, time.monotonic)
    write_json(cached, {"key": key, "reading": reading.to_json()})
    return reading


def _manifest(path: Path, name: str) -> dict[str, Any]:
    file = path / name
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}


def how_made(path: Path) -> dict[str, Any]:
    """Recipe, output rows, untying and training, from the model's manifests (a propagated model's from the
    adapted model it was propagated from)."""
    propagated = _manifest(path, PROPAGATE_MANIFEST)
    source = Path(propagated["adapted"]) if propagated else path
    init, train = _manifest(source, INIT_MANIFEST), _manifest(source, TRAIN_MANIFEST)
    made: dict[str, Any] = {}
    if init:
        made |= {key: init[key] for key in ("recipe", "output_recipe", "untied") if key in init}
    if train:
        made["train"] = {
            "objective": train["settings"].get("objective", "lm"),
            "steps": train["steps"],
            "tokens_seen": train.get("tokens_seen"),  # manifests before 2026-12-07 lack it
            "wall_seconds": train["wall_seconds"],
        }
    if propagated:
        made["propagated"] = propagated["mode"]
    return made


def new_token_ids(original: Path, adapted: Path) -> frozenset[int]:
    """Ids of the adapted vocabulary whose token the original vocabulary does not have."""
    old = set(AutoTokenizer.from_pretrained(original).get_vocab())
    return frozenset(i for token, i in AutoTokenizer.from_pretrained(adapted).get_vocab().items() if token not in old)


def check_models(
    original: Path,
    models: dict[str, Path],
    held: dict[str, HeldOut],
    out: Path,
    source: str,
    say: Callable[[str], None],
) -> Path:
    """Read, summarise and report; returns the markdown report's path."""
    for name, path in {ORIGINAL: original, **models}.items():
        if not (path / "config.json").is_file():
            raise LepError(f"model {name!r}: {path} is not a Hugging Face model folder (no config.json)")
    if ORIGINAL in models:
        raise LepError(f"{ORIGINAL!r} names the original model; give the adapted one another name")
    base = _reading(ORIGINAL, original, held, out, say)
    checked = [Checked(ORIGINAL, base, frozenset(), {})]
    for name, path in models.items():
        checked.append(
            Checked(name, _reading(name, path, held, out, say), new_token_ids(original, path), how_made(path))
        )
    first = next(iter(held.values()))
    context = {
        "machine": f"{platform.machine()} {platform.processor() or ''} ".strip()
        + f", Python {platform.python_version()}",
        "date": date.today().isoformat(),
        "source": source,
        "shots": len(first.shots),
        "sentences": len(first.sentences),
        "paths": {ORIGINAL: str(original), **{n: str(p) for n, p in models.items()}},
    }
    return write_report(out, summarise(checked, base, held), context)
