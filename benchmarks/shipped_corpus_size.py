"""How much Russian text lep-bench must ship for the demo's 16k extension: FLORES chars/token vs training text.

    python benchmarks/shipped_corpus_size.py [--chars 500000 1000000 ...] [--out out/corpus-size]

The demo's training text with a data folder is the first 20 M characters of Russian Wikipedia sentences, then
public-domain literature (harness/demo/russian_corpus.py, Latin-script words removed). Shipped, only a prefix of
it can go. For each prefix length this trains the demo's extension (`extend`, 16000) of SmolLM2's tokenizer and
measures Russian and English characters/token on FLORES-200 devtest (never trained on) in ONE measurement; the
shipped size is the smallest whose Russian chars/token is within 5% of the 20 M one. Prints the table and the
seconds each training took; finished variants are reused.
"""

import argparse
import json
import os
import time
from pathlib import Path

from benchmarks.smollm2_vocab_curve import training_corpus
from harness.demo.russian_corpus import write_russian_corpus
from harness.run.gguf_import import named_model_dir
from harness.tokenizers.bench import TokenizerBenchSpec, measure
from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer

WITHIN = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", nargs="+", type=int, default=[500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000])
    parser.add_argument("--full", type=int, default=20_000_000, help="the data folder's length, the yardstick")
    parser.add_argument("--out", type=Path, default=Path("out/corpus-size"))
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    base = named_model_dir("smollm2-135m-instruct")
    variants, seconds = {}, {}
    for chars in [*args.chars, args.full]:
        out = args.out / f"chars{chars}"
        text = write_russian_corpus(training_corpus(data), args.out / f"russian{chars}.txt", chars)
        if not (out / MANIFEST).is_file():
            started = time.perf_counter()
            adapt_tokenizer(
                AdaptationRequest(base=str(base), method="extend", corpus=[text], out=out, new_vocab_size=16000)
            )
            seconds[chars] = time.perf_counter() - started
        variants[chars] = (str(out), text.stat().st_size)
    flores = data / "parallel" / "flores200-devtest"
    spec = TokenizerBenchSpec(
        tokenizers=[str(base), *(path for path, _ in variants.values())],
        corpora={"ru": [flores / "rus_Cyrl.devtest"], "en": [flores / "eng_Latn.devtest"]},
    )
    base_report, *reports = measure(spec)
    full = reports[-1].languages["ru"].chars_per_token
    rows = []
    for (chars, (_, size)), report in zip(variants.items(), reports):
        ru, en = (report.languages[lang].chars_per_token for lang in ("ru", "en"))
        rows.append(
            {
                "chars": chars,
                "utf8_bytes": size,
                "added": report.vocab_size - base_report.vocab_size,
                "ru_chars_per_token": round(ru, 3),
                "ru_ratio": round(ru / base_report.languages["ru"].chars_per_token, 3),
                "en_ratio": round(en / base_report.languages["en"].chars_per_token, 3),
                "of_full": round(ru / full, 3),
                "train_seconds": round(seconds[chars]) if chars in seconds else None,
            }
        )
    print("| training chars | UTF-8 MB | added | ru chars/token | ru ratio | en ratio | of 20M | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['chars']:,} | {r['utf8_bytes'] / 1e6:.1f} | {r['added']} | {r['ru_chars_per_token']} | "
            f"{r['ru_ratio']} | {r['en_ratio']} | {r['of_full']} | {r['train_seconds']} |"
        )
    chosen = next(r["chars"] for r in rows if r["of_full"] >= 1 - WITHIN)
    print(f"smallest within {WITHIN:.0%} of {args.full:,} characters: {chosen:,}")
    (args.out / "size.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
