"""Encode throughput of a reference tokenizer on Russian text, on ONE core.

    python benchmarks/tokenizer_throughput.py [--tokenizer llama-3] [--megabytes 20]

Reads Russian prose from $LEP_DATA_DIR/corpora/ru/ruslit (default ../shared/data) through the
same streaming reader the metrics use, then times, side by side in one run: the encoder
`lep-bench tokenizers` uses (tiktoken's Rust BPE when provably equivalent, see
harness/tokenizers/fast_encoding.py), HF tokenizers' batched Rust encoding, and one HF call per line.
"""

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # one core: set before tokenizers starts its thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from harness.tokenizers.fast_encoding import batch_encoder  # noqa: E402
from harness.tokenizers.metrics import BATCH_SIZE  # noqa: E402
from lep.corpus import iter_corpus  # noqa: E402
from lep.reference_tokenizers import load_tokenizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", default="llama-3")
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    corpus = args.corpus or data / "corpora" / "ru" / "ruslit" / "prose"
    lines = list(iter_corpus([corpus], max_chars=int(args.megabytes * 1e6 / 1.9)))
    size = sum(len(line.encode("utf-8")) for line in lines) / 1e6
    tokenizer = load_tokenizer(args.tokenizer)
    backend = tokenizer.backend_tokenizer
    fast, engine = batch_encoder(tokenizer, threads=1)
    print(f"tokenizer {args.tokenizer}; {len(lines)} lines, {size:.1f} MB of UTF-8 from {corpus}; 1 thread")

    def batched() -> None:
        for start in range(0, len(lines), BATCH_SIZE):
            backend.encode_batch_fast(lines[start : start + BATCH_SIZE], add_special_tokens=False)

    def metrics_path() -> None:  # what `lep-bench tokenizers` uses: tiktoken when provably equivalent
        for start in range(0, len(lines), BATCH_SIZE):
            fast(lines[start : start + BATCH_SIZE])

    def per_line() -> None:
        for line in lines:
            backend.encode(line, add_special_tokens=False)

    tokens = sum(len(e.ids) for e in backend.encode_batch_fast(lines[:BATCH_SIZE], add_special_tokens=False))
    times: dict[str, list[float]] = {"metrics": [], "batched": [], "per_line": []}
    for _ in range(args.repeats):  # interleaved, so all see the same machine state
        for name, run in (("metrics", metrics_path), ("batched", batched), ("per_line", per_line)):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    labels = (
        ("metrics", f"lep-bench path ({engine})"),
        ("batched", "HF encode_batch_fast"),
        ("per_line", "HF encode() per line"),
    )
    for name, label in labels:
        rates = sorted(size / t for t in times[name])
        print(f"{label:26s} median {statistics.median(rates):.2f} MB/s, best {rates[-1]:.2f}, worst {rates[0]:.2f}")
    ratio = statistics.median(times["per_line"]) / statistics.median(times["batched"])
    print(f"ratio HF batched / per-line (medians): {ratio:.2f}x; first batch {tokens} tokens")
    print(
        f"ratio lep-bench path / HF batched (medians): {statistics.median(times['batched']) / statistics.median(times['metrics']):.2f}x"
    )


if __name__ == "__main__":
    main()
