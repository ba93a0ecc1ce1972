"""The paper's tokenizer variants at full size: training time, peak memory, and efficiency on FLORES.

    python benchmarks/vocab_adaptation.py [--out out/vocab-bench] [--max-chars N] [--only NAME ...]

Trains every variant with `lep-bench adapt tokenizer` (one process each, timed by /usr/bin/time
for wall time and peak RSS; finished variants are reused), once per choice where the authors'
code and the paper differ (`--trainer`, `--keep-by`, `--ignore-merges`), then measures all of them
side by side with the bases in ONE `lep-bench tokenizers` run on FLORES-200 devtest (never in
training) and on held-in Russian (the Leipzig Wikipedia part of the training text), checks
losslessness on every FLORES line and, for `extend`, that every base id keeps its string.
Training text: $LEP_DATA_DIR (default ../shared/data) corpora/ru (literature, Wikipedia, UD) plus
the 10k English Wikipedia sentences as a small English share.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from lep.reference_tokenizers import load_tokenizer

# name: (base, method, size flags, choice flags). Each variant is trained once per choice where the
# authors' code and the paper's text (or our earlier default) differ.
VARIANTS = {
    "llama3-extend64k": ("llama-3", "extend", ["--new-vocab-size", "64000"], []),
    "llama3-extend64k/no-ignore-merges": ("llama-3", "extend", ["--new-vocab-size", "64000"], ["--no-ignore-merges"]),
    "llama3-bpe128k": ("llama-3", "bpe", ["--vocab-size", "128000"], []),
    "llama3-bpe128k/sentencepiece": ("llama-3", "bpe", ["--vocab-size", "128000"], ["--trainer", "sentencepiece"]),
    "llama3-unigram128k": ("llama-3", "unigram", ["--vocab-size", "128000"], []),
    "llama3-unigram128k/sentencepiece": (
        "llama-3",
        "unigram",
        ["--vocab-size", "128000"],
        ["--trainer", "sentencepiece"],
    ),
    "llama3-optimize64k": ("llama-3", "optimize", ["--keep", "64000", "--new-vocab-size", "64000"], []),
    "llama3-optimize64k/lowest-ids": (
        "llama-3",
        "optimize",
        ["--keep", "64000", "--new-vocab-size", "64000"],
        ["--keep-by", "lowest-ids"],
    ),
    "mistral-extend32k": ("mistral-7b", "extend", ["--new-vocab-size", "32000"], []),
    "mistral-extend32k/ignore-merges": ("mistral-7b", "extend", ["--new-vocab-size", "32000"], ["--ignore-merges"]),
    "mistral-bpe32k": ("mistral-7b", "bpe", ["--vocab-size", "32000"], []),
    "mistral-bpe32k/sentencepiece": ("mistral-7b", "bpe", ["--vocab-size", "32000"], ["--trainer", "sentencepiece"]),
    "mistral-unigram32k": ("mistral-7b", "unigram", ["--vocab-size", "32000"], []),
    "mistral-unigram32k/sentencepiece": (
        "mistral-7b",
        "unigram",
        ["--vocab-size", "32000"],
        ["--trainer", "sentencepiece"],
    ),
}
TARGETS = {  # variant without its choice: (minimum ru chars/token ratio vs base, minimum en ratio)
    "llama3-extend64k": (1.25, 0.99),
    "llama3-bpe128k": (1.40, None),
    "llama3-unigram128k": (1.40, None),
    "llama3-optimize64k": (1.15, None),
    "mistral-extend32k": (1.40, None),
    "mistral-bpe32k": (1.40, None),
    "mistral-unigram32k": (1.40, None),
}
HELD_IN = "wiki-leipzig-10k"  # a part of the training corpus: chars/token on text the tokenizer saw


def training_corpus(data: Path) -> list[Path]:
    ru = data / "corpora" / "ru"
    return [
        ru / "ruslit",
        ru / "wiki-leipzig-10k",
        *sorted((ru / "ud").rglob("*.conllu")),
        data / "corpora" / "en" / "wiki-leipzig-10k",
    ]


def folder(name: str) -> str:
    return name.replace("/", "--")


def train(name: str, out: Path, corpus: list[Path], max_chars: int | None) -> dict:
    base, method, sizes, choice = VARIANTS[name]
    flags = [*sizes, *choice]
    target = out / folder(name)
    timing = out / f"{folder(name)}.time"
    out.mkdir(parents=True, exist_ok=True)
    if not (target / "lep_tokenizer.json").exists():
        command = [
            "/usr/bin/time",
            "-f",
            "%e %M",
            "-o",
            str(timing),
            sys.executable,
            "-m",
            "harness.cli",
            "adapt",
            "tokenizer",
        ]
        command += [
            "--base",
            base,
            "--method",
            method,
            *flags,
            "--out",
            str(target),
            "--overwrite",
            "--corpus",
            *map(str, corpus),
        ]
        command += ["--max-chars", str(max_chars)] if max_chars else []
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall, peak_kb = timing.read_text().split()[-2:]
    manifest = json.loads((target / "lep_tokenizer.json").read_text(encoding="utf-8"))
    return {
        "wall_s": float(wall),
        "peak_gb": int(peak_kb) / 1e6,
        "vocab": manifest["vocab_size"],
        "chars": manifest["corpus"]["chars"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/vocab-bench"))
    parser.add_argument("--max-chars", type=int)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS))
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    corpus = training_corpus(data)
    names = args.only or list(VARIANTS)
    runs = {}
    for name in names:
        runs[name] = train(name, args.out, corpus, args.max_chars)
        print(f"trained {name}: {runs[name]}", flush=True)

    flores = data / "parallel" / "flores200-devtest"
    ru, en = flores / "rus_Cyrl.devtest", flores / "eng_Latn.devtest"
    bases = sorted({VARIANTS[n][0] for n in names})
    held_in = data / "corpora" / "ru" / HELD_IN
    command = [sys.executable, "-m", "harness.cli", "tokenizers", "--corpus", f"ru={ru}", "--corpus", f"en={en}"]
    command += ["--corpus", f"ru-held-in={held_in}", "--parallel", str(ru), str(en), "--out", str(args.out / "flores")]
    for tokenizer in [*bases, *(str(args.out / folder(n)) for n in names)]:
        command += ["--tokenizer", tokenizer]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics = {t["name"]: t for t in json.loads((args.out / "flores" / "metrics.json").read_text())["tokenizers"]}

    lines = ru.read_text(encoding="utf-8").splitlines() + en.read_text(encoding="utf-8").splitlines()
    print(
        "\n| variant | choice | vocab | train s | peak GB | ru c/t | ratio | en c/t | ratio | held-in ru c/t | lossless | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        base, method, _, choice = VARIANTS[name]
        variant = name.split("/")[0]
        ours, theirs = metrics[folder(name)]["languages"], metrics[base]["languages"]
        ratio_ru = ours["ru"]["chars_per_token"] / theirs["ru"]["chars_per_token"]
        ratio_en = ours["en"]["chars_per_token"] / theirs["en"]["chars_per_token"]
        tokenizer = load_tokenizer(args.out / folder(name))
        lossless = sum(tokenizer.decode(tokenizer.encode(x, add_special_tokens=False)) == x for x in lines)
        need_ru, need_en = TARGETS[variant]
        met = ratio_ru >= need_ru and (need_en is None or ratio_en >= need_en) and lossless == len(lines)
        label = variant
        if method == "extend":
            original = load_tokenizer(base)
            same = all(
                tokenizer.convert_ids_to_tokens(i) == original.convert_ids_to_tokens(i) for i in range(len(original))
            )
            met = met and same
            label = f"{variant} (base ids kept: {same})"
        run = runs[name]
        print(
            f"| {label} | {' '.join(choice) or 'default'} | {run['vocab']} | {run['wall_s']:.0f} | {run['peak_gb']:.2f} "
            f"| {ours['ru']['chars_per_token']:.3f} | {ratio_ru:.3f} | {ours['en']['chars_per_token']:.3f} | {ratio_en:.3f} "
            f"| {ours['ru-held-in']['chars_per_token']:.3f} | {lossless}/{len(lines)} "
            f"| {'met' if met else 'MISSED'} (ru ≥ {need_ru}{f', en ≥ {need_en}' if need_en else ''}) |"
        )
    print(
        "\nbases on FLORES: "
        + ", ".join(
            f"{b} ru {metrics[b]['languages']['ru']['chars_per_token']:.3f} en {metrics[b]['languages']['en']['chars_per_token']:.3f}"
            for b in bases
        )
    )
    print(
        f"training corpus: {', '.join(str(p) for p in corpus[:2])}, {len(corpus) - 3} UD files, English share {corpus[-1]}"
    )


if __name__ == "__main__":
    main()
