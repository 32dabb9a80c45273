"""The web layer against the in-process SavedModel call, for one 512-character passage.

Measures in one run: p50/p99 latency of one request end to end through the web layer (REST
and gRPC backends, against a local model server) and of the same model's signature called
in-process on the same inputs; throughput of the web layer at each concurrency level and of
in-process calls with that batch size. For the breakdown it also times the contract's encode
and decode and predict calls sent straight to the model server.

Run: .venv/bin/python -m bench.bench_web [--run RUN_DIR] [--requests 200] [--server_batching]
     [--concurrency 1,8,32] [--plot PATH]

Without --run the model has the default (full) ModelConfig sizes and random weights, which
cost the same to run as trained ones. The weights are seeded: with most seeds random BIO
outputs make tens or hundreds of candidate spans, which a trained model never does, and
decoding then costs up to 15 ms instead of 0.2 ms; seed 2 gives 5 candidates, like a trained
model (the breakdown reports the count).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench import bench_contract
from contract.decode import WindowOutputs, decode_rows, window_spans
from contract.served import ServedContract
from contract.tensors import BIO_PROBS, batch_inputs, window_rows
from web.backends import Backend
from web.backends.rest_backend import RestBackend
from web.http_pool import KeepAlivePool

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_NAME = "rc"
DEFAULT_CONCURRENCY = [1, 8, 32]
WEIGHT_SEED = 2
JUDGMENT = bench_contract.PASSAGE  # one real-looking judgment paragraph for all benches
PASSAGE = (JUDGMENT * 2)[:512]
QUESTION = "被告人张某某赔偿了被害人多少钱？"


def build_full_size_run(run_dir: Path) -> Path:
    """The test run's vocabularies with the default network sizes and window length."""
    import keras

    from contract.config import ContractConfig
    from model.config import ModelConfig
    from model.network import build_model
    from model.run_dir import BEST_WEIGHTS, RunConfig
    from tests.run_fixtures import make_untrained_run

    keras.utils.set_random_seed(WEIGHT_SEED)
    make_untrained_run(run_dir, ContractConfig())
    small = RunConfig.load(run_dir)
    model = ModelConfig(
        char_vocab_size=small.model.char_vocab_size,
        word_vocab_size=small.model.word_vocab_size,
    )
    RunConfig(model, small.contract, small.training).save(run_dir)
    build_model(model).save_weights(run_dir / BEST_WEIGHTS)
    return run_dir


def concurrency_levels(text: str) -> list[int]:
    """``"1,8,32"`` as [1, 8, 32], for ``--concurrency``."""
    try:
        levels = [int(part) for part in text.split(",")]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, like 1,8,32; got {text!r}"
        )
    return levels


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def timed(call: Callable[[], object], count: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


class InProcess:
    """The exported signature called in this process, and the contract's costs around it."""

    def __init__(self, version_dir: Path) -> None:
        import tensorflow as tf

        self.signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
        self.contract = ServedContract.load(version_dir)
        self.encoder = self.contract.encoder()
        self.encoded = [self.encoder.encode(QUESTION, PASSAGE)]
        self.rows = window_rows(self.encoded)
        self.inputs = batch_inputs(self.rows, self.contract.config)
        self.one = self.batch(1)
        self.outputs = {k: v.numpy() for k, v in self.signature(**self.one).items()}

    def batch(self, size: int) -> dict:
        """The passage's window repeated ``size`` times, as the signature's input tensors."""
        import tensorflow as tf

        inputs = batch_inputs(self.rows * size, self.contract.config)
        return {k: tf.constant(v) for k, v in inputs.items()}

    def latency(self, count: int) -> dict[str, float]:
        return percentiles(timed(lambda: self.signature(**self.one), count))

    def batch_throughput(self, count: int, size: int) -> float:
        """Items per second of batch-``size`` calls, about ``count`` items (10 calls at least)."""
        inputs = self.batch(size)
        batches = max(count // size, 10)
        return batches * size / sum(timed(lambda: self.signature(**inputs), batches))

    def encode_latency(self, count: int) -> dict[str, float]:
        return percentiles(timed(lambda: self.encoder.encode(QUESTION, PASSAGE), count))

    def decode_latency(self, count: int) -> dict[str, float]:
        config = self.contract.config
        outputs = WindowOutputs()
        outputs.add(self.outputs, len(self.outputs[BIO_PROBS]))
        return percentiles(
            timed(
                lambda: decode_rows(
                    self.encoded, outputs, top_k=config.top_k, min_score=config.min_score
                ),
                count,
            )
        )

    def candidate_spans(self) -> int:
        return len(window_spans(self.outputs[BIO_PROBS][0]))


async def direct(backend: Backend, inputs: dict[str, np.ndarray], count: int) -> dict:
    """Predict calls straight to the model server: no web layer, no encode or decode."""
    for _ in range(5):
        await backend.predict(inputs, 1, "serving_default", 60)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await backend.predict(inputs, 1, "serving_default", 60)
        samples.append(time.perf_counter() - started)
    await backend.close()
    return percentiles(samples)


async def through_web(port: int, count: int, levels: list[int]) -> dict:
    """Sequential requests for latency, then for each level that many clients for throughput."""
    pool = KeepAlivePool(f"http://127.0.0.1:{port}")
    body = json.dumps({"question": QUESTION, "passage": PASSAGE}, ensure_ascii=False).encode()

    async def one() -> float:
        started = time.perf_counter()
        response = await pool.request("POST", "/v1/extract", body, 60)
        if response.status != 200:
            raise RuntimeError(f"web layer answered {response.status}: {response.body[:300]!r}")
        return time.perf_counter() - started

    for _ in range(10):
        await one()
    latency = percentiles([await one() for _ in range(count)])

    async def throughput(clients: int) -> float:
        share = max(count // clients, 1)

        async def client() -> None:
            for _ in range(share):
                await one()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return share * clients / (time.perf_counter() - started)

    per_s = {clients: await throughput(clients) for clients in levels}
    pool.close()
    return latency | {"per_s": per_s}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env
    )


def wait_until_up(port: int, path: str, what: str, timeout_s: float = 180.0) -> None:
    async def answers() -> bool:
        pool = KeepAlivePool(f"http://127.0.0.1:{port}")
        try:
            return (await pool.request("GET", path, None, 5)).status == 200
        except (OSError, TimeoutError):
            return False
        finally:
            pool.close()

    deadline = time.monotonic() + timeout_s
    while not asyncio.run(answers()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout_s:g} s")
        time.sleep(0.5)


def measure(args: argparse.Namespace, work: Path) -> dict[str, dict]:
    from export.exporter import export_run

    run = args.run or build_full_size_run(work / "run")
    version_dir = export_run(run, work / "models", MODEL_NAME, version=1).path
    grpc_port, rest_port = free_port(), free_port()
    server = [
        *(sys.executable, "-m", "serving.local", f"--port={grpc_port}"),
        *(f"--rest_api_port={rest_port}", "--host=127.0.0.1", f"--model_name={MODEL_NAME}"),
        f"--model_base_path={work / 'models' / MODEL_NAME}",
        *(["--enable_batching"] if args.server_batching else []),
    ]
    processes = [start(server, work / "server.log")]
    try:
        wait_until_up(rest_port, f"/v1/models/{MODEL_NAME}", "the model server")
        web_ports = {"rest": free_port(), "grpc": free_port()}
        for kind, port in web_ports.items():
            web = [
                *(sys.executable, "-m", "web", f"--port={port}", "--address=127.0.0.1"),
                *(f"--backend={kind}", f"--rest_url=http://127.0.0.1:{rest_port}"),
                *(f"--grpc_target=127.0.0.1:{grpc_port}", "--log_level=WARNING"),
            ]
            processes.append(start(web, work / f"web_{kind}.log"))
        for kind, port in web_ports.items():
            wait_until_up(port, "/readyz", f"the {kind} web layer")

        baseline = InProcess(version_dir)
        count = args.requests
        per_s = {size: baseline.batch_throughput(count, size) for size in args.concurrency}
        results: dict[str, dict] = {
            "in-process signature": baseline.latency(count) | {"per_s": per_s},
        }
        for kind, port in web_ports.items():
            results[f"web layer, {kind}"] = asyncio.run(through_web(port, count, args.concurrency))
        from web.backends.grpc_backend import GrpcBackend

        backends = {
            "rest": lambda: RestBackend(f"http://127.0.0.1:{rest_port}", MODEL_NAME),
            "grpc": lambda: GrpcBackend(f"127.0.0.1:{grpc_port}", MODEL_NAME),
        }

        async def direct_call(kind: str) -> dict:
            return await direct(backends[kind](), baseline.inputs, count)

        for kind in backends:
            results[f"model server alone, {kind}"] = asyncio.run(direct_call(kind))
        results["contract encode"] = baseline.encode_latency(count)
        results["contract decode"] = baseline.decode_latency(count) | {
            "note": f"{baseline.candidate_spans()} candidate spans"
        }
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    return results


def report(results: dict[str, dict], args: argparse.Namespace) -> None:
    base = results["in-process signature"]
    levels = args.concurrency
    print(
        f"passage {len(PASSAGE)} characters, {args.requests} requests per measurement, model "
        f"server batching {'on' if args.server_batching else 'off'}, {os.cpu_count()} CPUs"
    )
    print(
        "| path | p50 ms | p99 ms | p50 / in-process | "
        + " | ".join(f"per s at concurrency {n} (/ in-process)" for n in levels)
        + " |"
    )
    print("| --- | ---: | ---: | ---: |" + " ---: |" * len(levels))
    for name, row in results.items():
        throughput = (
            [f"{row['per_s'][n]:.1f} ({row['per_s'][n] / base['per_s'][n]:.0%})" for n in levels]
            if "per_s" in row
            else [row.get("note", "")] + [""] * (len(levels) - 1)
        )
        print(
            f"| {name} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['p50_ms'] / base['p50_ms']:.2f}x | {' | '.join(throughput)} |"
        )
    print("In-process throughput: signature calls with batch size = concurrency, items per second.")


def grouped_bars(axes, groups: list[str], series: dict[str, list[float]]) -> None:
    """One bar per series within each group, labelled by group on the x axis."""
    width = 0.8 / len(series)
    x = np.arange(len(groups))
    for i, (label, values) in enumerate(series.items()):
        axes.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    axes.set_xticks(x, groups)
    axes.margins(y=0.25)
    axes.legend(loc="upper left")


def plot(results: dict[str, dict], levels: list[int], path: Path) -> None:
    """Latency per path and throughput per concurrency level, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(14, 5.5))
    names = list(results)
    grouped_bars(
        latency, names, {p: [results[name][f"{p}_ms"] for name in names] for p in ("p50", "p99")}
    )
    plt.setp(latency.get_xticklabels(), rotation=25, ha="right")
    latency.set_ylabel("ms per request")
    latency.set_title("Latency, sequential requests")
    with_throughput = [name for name in names if "per_s" in results[name]]
    grouped_bars(
        throughput,
        [str(n) for n in levels],
        {name: [results[name]["per_s"][n] for n in levels] for name in with_throughput},
    )
    throughput.set_xlabel("concurrent clients (in-process: batch size)")
    throughput.set_ylabel("requests per second")
    throughput.set_title("Throughput")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"plot written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="training run to export (default: full-size)")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument(
        "--server_batching", action="store_true", help="start the model server with batching"
    )
    parser.add_argument(
        "--concurrency",
        type=concurrency_levels,
        default=DEFAULT_CONCURRENCY,
        help="concurrent clients (and in-process batch sizes) to measure throughput at",
    )
    parser.add_argument("--plot", type=Path, help="also write the results as a PNG to this path")
    args = parser.parse_args(argv)
    results = measure(args, Path(tempfile.mkdtemp(prefix="bench_web_")))
    report(results, args)
    if args.plot:
        plot(results, args.concurrency, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
