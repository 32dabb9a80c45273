"""The demo: sample data -> a small trained model -> SavedModel -> local TF-Serving-compatible
server -> web layer -> answers to sample questions.

    make demo        (or: .venv/bin/python -m scripts.demo)

Everything lands in build/demo/ and is reused when the demo runs again. With a terminal and no
CI variable the page keeps running until Ctrl-C; otherwise the demo stops what it started.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from contract.examples import YES_NO_TYPES, AnswerType, QAExample
from model.readers import read_examples

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("demo")

TRAIN_OPTIONS = [
    "--epochs", "10", "--patience", "10", "--batch-size", "16", "--learning-rate", "2e-3",
    "--focal-gamma", "2", "--bio-weight", "20", "--span-weight", "5", "--ema", "0.99",
    "--yes-no-evidence",
    "--char-dim", "64", "--hidden-dim", "64", "--word-dim", "32",
    "--window-len", "256", "--window-stride", "192",
    "--passage-dilations", "1,3,9,1", "--modeling-dilations", "1,3,9",
]  # fmt: skip


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def run_step(title: str, args: list[str]) -> None:
    log.info("%s: %s", title, " ".join(args))
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def prepare(work: Path) -> Path:
    """Data, training and export, each skipped when its output already exists."""
    data, run, models = work / "data", work / "run", work / "models"
    if not (data / "dev.jsonl").is_file():
        run_step(
            "generating sample data",
            [
                "-m",
                "model.sample_data",
                "--out",
                str(data),
                "--train",
                "2000",
                "--dev",
                "200",
                "--seed",
                "0",
            ],
        )
    if not (run / "summary.json").is_file():
        run_step(
            "training a small model",
            [
                "-m",
                "model.train",
                "--train",
                str(data / "train.jsonl"),
                "--dev",
                str(data / "dev.jsonl"),
                "--out",
                str(run),
                *TRAIN_OPTIONS,
            ],
        )
    if not any(p.name.isdigit() for p in (models / "rc").glob("*")):
        run_step(
            "exporting the SavedModel",
            ["-m", "export", "--run", str(run), "--models", str(models), "--name", "rc"],
        )
    return models


def start(args: list[str], name: str) -> subprocess.Popen:
    log.info("starting %s: %s", name, " ".join(args))
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, start_new_session=True)


def wait_ready(url: str, processes: list[subprocess.Popen], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a server exited during start-up; see its log above")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not become ready within {timeout_s:.0f} s")


def pick_questions(examples: list[QAExample]) -> list[QAExample]:
    """One single-answer, one multi-answer, one yes/no and one unanswerable question."""
    wanted = [
        lambda e: e.answer_type is AnswerType.SPAN and len(e.answers) == 1,
        lambda e: e.answer_type is AnswerType.SPAN and len(e.answers) > 1,
        lambda e: e.answer_type in YES_NO_TYPES,
        lambda e: e.answer_type is AnswerType.NONE,
    ]
    return [next(e for e in examples if test(e)) for test in wanted]


def highlight(passage: str, answers: list[dict]) -> str:
    out, last = [], 0
    for answer in sorted(answers, key=lambda a: a["start"]):
        out += [passage[last : answer["start"]], "【", answer["text"], "】"]
        last = answer["end"]
    return "".join([*out, passage[last:]])


def ask(web_url: str, examples: list[QAExample]) -> None:
    for example in examples:
        body = {"question": example.question, "passage": example.passage}
        result = requests.post(f"{web_url}/v1/extract", json=body, timeout=30).json()
        expected = "、".join(example.references[0]) or "(no answer)"
        print(f"\nQ: {example.question}   (expected: {expected})")
        print(f"   answer type: {result['answer_type']}, took {result['took_ms']:.0f} ms")
        for answer in result["answers"]:
            print(
                f"   - {answer['text']}  [{answer['start']}:{answer['end']}]"
                f"  score {answer['score']:.2f}"
            )
        if result["answers"]:
            print("   " + highlight(example.passage, result["answers"]))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "demo")
    parser.add_argument("--web-port", type=int, default=8080)
    args = parser.parse_args(argv)

    models = prepare(args.work)
    grpc_port, rest_port = free_port(8500), free_port(8501)
    web_port = free_port(args.web_port)
    servers = [
        start(
            [
                "-m",
                "serving.local",
                f"--port={grpc_port}",
                f"--rest_api_port={rest_port}",
                "--model_name=rc",
                f"--model_base_path={models / 'rc'}",
            ],
            "model server",
        ),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{rest_port}/v1/models/rc", servers)
        servers.append(
            start(
                [
                    "-m",
                    "web",
                    "--port",
                    str(web_port),
                    "--address",
                    "127.0.0.1",
                    "--rest_url",
                    f"http://127.0.0.1:{rest_port}",
                    "--models_dir",
                    str(models),
                ],
                "web layer",
            )
        )
        web_url = f"http://127.0.0.1:{web_port}"
        wait_ready(f"{web_url}/readyz", servers)
        ask(web_url, pick_questions(read_examples(args.work / "data" / "dev.jsonl")))
        if sys.stdin.isatty() and not os.environ.get("CI"):
            print(f"\nThe page is running at {web_url}/  (Ctrl-C to stop)")
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            signal.sigwait(stop)
    finally:
        for process in servers:
            process.terminate()
        for process in servers:
            process.wait(timeout=30)
        log.info("stopped the model server and the web layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
