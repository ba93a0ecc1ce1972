"""How many Russian tokens to add to SmolLM2-135M-Instruct: chars/token on FLORES devtest vs added vocabulary.

    python benchmarks/smollm2_vocab_curve.py [--sizes 2000 4000 ...] [--max-chars N] [--out out/smollm2-curve]

For each size, `extend` (lep/vocab_adaptation.py) trains a Russian BPE of that many entries in
SmolLM2's byte-level style and appends the tokens SmolLM2 lacks; then ONE tokenizer measurement
(harness/tokenizers/bench.py) runs the base and every variant on FLORES-200 devtest (never used
in training) and prints Russian and English characters/token and their ratios to the base.
Training text: $LEP_DATA_DIR (default ../shared/data) corpora/ru (Wikipedia sentences, then
literature), cut at --max-chars, with every Latin-script word removed (harness/demo/russian_corpus.py;
--raw keeps them, to show why). Finished variants are reused.
"""

import argparse
import json
import os
import time
from pathlib import Path

from harness.demo.russian_corpus import write_russian_corpus
from harness.run.gguf_import import named_model_dir
from harness.tokenizers.bench import TokenizerBenchSpec, measure
from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer


def training_corpus(data: Path) -> list[Path]:
    ru = data / "corpora" / "ru"
    return [ru / "wiki-leipzig-10k", ru / "ruslit" / "prose"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 2000, 4000, 8000, 16000, 24000, 32000])
    parser.add_argument("--max-chars", type=int, default=20_000_000)
    parser.add_argument("--out", type=Path, default=Path("out/smollm2-curve"))
    parser.add_argument("--raw", action="store_true", help="train on the raw text, Latin-script words included")
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    base = named_model_dir("smollm2-135m-instruct")
    corpus = training_corpus(data)
    if not args.raw:
        corpus = [write_russian_corpus(corpus, args.out / "russian.txt", args.max_chars)]
    variants = {}
    for size in args.sizes:
        out = args.out / f"extend{size}"
        if not (out / MANIFEST).is_file():
            started = time.perf_counter()
            adapt_tokenizer(
                AdaptationRequest(
                    base=str(base),
                    method="extend",
                    corpus=corpus,
                    out=out,
                    new_vocab_size=size,
                    max_chars=args.max_chars,
                    overwrite=True,
                )
            )
            print(f"trained extend{size} in {time.perf_counter() - started:.0f} s", flush=True)
        variants[size] = str(out)
    flores = data / "parallel" / "flores200-devtest"
    spec = TokenizerBenchSpec(
        tokenizers=[str(base), *variants.values()],
        corpora={"ru": [flores / "rus_Cyrl.devtest"], "en": [flores / "eng_Latn.devtest"]},
    )
    reports = measure(spec)
    rows = []
    base_cpt = {lang: reports[0].languages[lang].chars_per_token for lang in ("ru", "en")}
    for size, report in zip([0, *variants], reports):
        cpt = {lang: report.languages[lang].chars_per_token for lang in ("ru", "en")}
        rows.append(
            {
                "added_requested": size,
                "vocab_size": report.vocab_size,
                "added": report.vocab_size - reports[0].vocab_size,
                "ru_chars_per_token": round(cpt["ru"], 3),
                "en_chars_per_token": round(cpt["en"], 3),
                "ru_ratio": round(cpt["ru"] / base_cpt["ru"], 3),
                "en_ratio": round(cpt["en"] / base_cpt["en"], 3),
            }
        )
    print(
        f"training text: {', '.join(map(str, training_corpus(data)))} (first {args.max_chars:,} characters"
        f"{', raw' if args.raw else ', Latin-script words removed'}); measured on FLORES-200 devtest"
    )
    print("| new BPE size | vocab | added | ru chars/token | ru ratio | en chars/token | en ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['added_requested']} | {r['vocab_size']} | {r['added']} | {r['ru_chars_per_token']} | {r['ru_ratio']} | {r['en_chars_per_token']} | {r['en_ratio']} |"
        )
    (args.out / "curve.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
