"""Model cost on this CPU: the exported SavedModel at 512 characters (batch 1 and 8), a
BERT-base-sized encoder side by side, and cost against passage length (windows included).

Run: .venv/bin/python -m bench.bench_model [--model-dir models/rc/1 ...] [--repeats 20]
        [--plot PATH]
Without --model-dir, a default-size network with random weights is exported to a temporary
directory first (the cost does not depend on the weights). With several (e.g. a run and an
ensemble), each is timed at 512 characters in the same process, so their ratio is fair; the
length sweep uses the first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from contract.config import ContractConfig
from contract.served import ServedContract
from contract.tensors import batch_inputs

SENTENCE = (
    "经审理查明，被告人张某某于2018年5月12日驾驶京A12345号小型轿车在北京市朝阳区发生交通事故。"
)


def timed(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def default_model_dir(tmp: Path) -> Path:
    from export.exporter import export_run
    from tests.run_fixtures import make_untrained_run

    run = make_untrained_run(tmp / "run", ContractConfig(), small=False)
    return export_run(run, tmp / "models", "rc").path


def signature_of(model_dir: Path):
    return tf.saved_model.load(str(model_dir)).signatures["serving_default"]


def caller(signature):
    """A function of contract arrays that returns a no-argument call of ``signature``."""

    def call(arrays: dict[str, np.ndarray]):
        feed = {
            k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in arrays.items()
        }
        return lambda: signature(**feed)

    return call


def bert_base(seq_len: int):
    """12 layers, hidden 768, 12 heads, FFN 3072: BERT-base's encoder with random weights."""
    tokens = keras.Input((seq_len,), dtype="int32")
    x = keras.layers.Embedding(21128, 768)(tokens)
    for _ in range(12):
        attention = keras.layers.MultiHeadAttention(12, 64)(x, x)
        x = keras.layers.LayerNormalization()(x + attention)
        hidden = keras.layers.Dense(3072, activation="gelu")(x)
        x = keras.layers.LayerNormalization()(x + keras.layers.Dense(768)(hidden))
    return keras.Model(tokens, keras.layers.Dense(3)(x))


def plot_length(lengths: list[int], windows: list[int], ms: list[float], path: Path) -> None:
    """Cost against passage length as a PNG, each point labelled with its number of windows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot(lengths, ms, marker="o")
    for length, count, cost in zip(lengths, windows, ms, strict=True):
        label = f"{count} window{'s' if count > 1 else ''}"
        axes.annotate(label, (length, cost), textcoords="offset points", xytext=(4, -12))
    axes.set_xscale("log", base=2)
    axes.set_xticks(lengths, [str(n) for n in lengths])
    axes.set_xlabel("passage characters")
    axes.set_ylabel("median ms (all windows, one call)")
    axes.set_title("SavedModel cost against passage length")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"plot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_model")
    parser.add_argument("--model-dir", type=Path, action="append", default=[])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--skip-bert", action="store_true")
    parser.add_argument("--plot", type=Path, help="write cost against passage length as a PNG")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dirs = args.model_dir or [default_model_dir(Path(tmp))]
        print("| what | batch | median ms | ms per example |")
        print("| --- | --- | --- | --- |")
        loaded = [
            (model_dir, ServedContract.load(model_dir), caller(signature_of(model_dir)))
            for model_dir in model_dirs
        ]
        for model_dir, served, call in loaded:
            passage = (SENTENCE * 400)[:512]
            example = served.encoder().encode("被告人驾驶的车辆号牌是什么？", passage)
            row = (example.question, example.windows[0])
            for batch in (1, 8):
                ms = timed(call(batch_inputs([row] * batch, served.config)), args.repeats)
                what = f"SavedModel {model_dir}, 512 characters"
                print(f"| {what} | {batch} | {ms:.1f} | {ms / batch:.1f} |")
        _, served, call = loaded[0]
        encoder = served.encoder()
        if not args.skip_bert:
            bert = bert_base(512)
            forward = tf.function(lambda t: bert(t, training=False))
            tokens = tf.constant(np.random.default_rng(0).integers(1, 21128, (1, 512)), tf.int32)
            ms = timed(lambda: forward(tokens), max(3, args.repeats // 4))
            print(f"| BERT-base encoder (random weights), 512 tokens | 1 | {ms:.1f} | {ms:.1f} |")

        print("\n| passage characters | windows | median ms (all windows, one call) |")
        print("| --- | --- | --- |")
        lengths, windows, costs = [128, 256, 512, 1024, 2048, 4096, 8192], [], []
        for length in lengths:
            text = (SENTENCE * (length // len(SENTENCE) + 1))[:length]
            example = encoder.encode("被告人驾驶的车辆号牌是什么？", text)
            rows = [(example.question, w) for w in example.windows]
            ms = timed(call(batch_inputs(rows, served.config)), max(3, args.repeats // 4))
            print(f"| {length} | {len(rows)} | {ms:.1f} |")
            windows.append(len(rows))
            costs.append(ms)
        if args.plot:
            plot_length(lengths, windows, costs, args.plot)


if __name__ == "__main__":
    main()
