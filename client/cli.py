"""``python -m client``: ask questions, answer a whole data file, check the service.

    python -m client ask --question 被告人是谁？ --passage-file case.txt
    python -m client predict --input dev.jsonl --output predictions.json
    python -m client status --backend rest --url http://localhost:8501
    python -m client metadata --backend grpc --target localhost:8500

``--backend`` picks the service: ``web`` (the web layer, default), ``rest`` or ``grpc`` (TF
Serving directly). Exit status: 0 done; 1 ``status`` found nothing ready to serve; 2 an
error, reported as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from client import render
from client.errors import ClientError
from client.predict_file import DEFAULT_WORKERS, predict_examples, write_predictions
from client.retry import RetryPolicy
from client.serving import DEFAULT_BATCH_ROWS, DEFAULT_MODEL, ServingClient
from client.serving_grpc import DEFAULT_TARGET, GrpcClient
from client.serving_rest import DEFAULT_REST_URL, RestClient
from client.web import DEFAULT_URL as DEFAULT_WEB_URL
from client.web import WebClient
from model.readers import ReaderError, read_examples

log = logging.getLogger(__name__)

BACKENDS = ("web", "rest", "grpc")
DEFAULT_TIMEOUT_S = 30.0
EXIT_OK, EXIT_NOT_READY, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Options that do not fit together; the message says which and why."""


# ---------------------------------------------------------------------------------- options


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _version(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (digits only)")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not from 0 to 1")
    return value


def _connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("service")
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="web",
        help="web: the web layer; rest/grpc: TF Serving directly (default: web)",
    )
    group.add_argument(
        "--url",
        help=f"base URL of the web layer (default {DEFAULT_WEB_URL}) or of TF Serving's REST "
        f"API (default {DEFAULT_REST_URL})",
    )
    group.add_argument(
        "--target", help=f"host:port of TF Serving's gRPC API (default {DEFAULT_TARGET})"
    )
    group.add_argument(
        "--model", help=f"model name on TF Serving, rest/grpc only (default {DEFAULT_MODEL})"
    )
    group.add_argument(
        "--version",
        type=_version,
        help="model version to call, rest/grpc only (default: the newest AVAILABLE one)",
    )
    group.add_argument(
        "--batch-rows",
        type=_positive_int,
        help=f"passage windows per predict call, rest/grpc only (default {DEFAULT_BATCH_ROWS}; "
        "the web layer's --batch_rows gives bit-identical scores)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds to wait for a connection and for each answer "
        f"(default {DEFAULT_TIMEOUT_S:g})",
    )
    group.add_argument(
        "--attempts",
        type=_positive_int,
        default=RetryPolicy().attempts,
        help="tries per call while the service answers 503 or refuses connections "
        f"(default {RetryPolicy().attempts})",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="log what the client does")
    return options


def _answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--top-k", type=_positive_int, help="most answers per question (default: the model's)"
    )
    parser.add_argument(
        "--min-score",
        type=_score,
        help="drop every answer scoring below this (default: the model's tuned thresholds)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m client",
        description="Ask the served reading-comprehension model questions about passages.",
        epilog="Run 'python -m client COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = _connection_options()

    ask = commands.add_parser(
        "ask",
        parents=[connection],
        help="answer questions about one passage",
        description="Answer questions about one passage; answers are marked 【like this】.",
    )
    ask.add_argument(
        "--question", "-q", action="append", required=True, help="a question (repeatable)"
    )
    passage = ask.add_mutually_exclusive_group(required=True)
    passage.add_argument("--passage", "-p", help="the passage text")
    passage.add_argument("--passage-file", type=Path, help="a UTF-8 file holding the passage")
    _answer_options(ask)
    ask.add_argument("--json", action="store_true", help="one JSON object per question")

    predict = commands.add_parser(
        "predict",
        parents=[connection],
        help="answer every question of a data file",
        description="Answer every question of a data file (SQuAD-style JSON or JSON Lines) "
        "and write {id: answer} for python -m model.evaluate.",
    )
    predict.add_argument("--input", type=Path, required=True, help="data file to answer")
    predict.add_argument("--output", type=Path, required=True, help="predictions file to write")
    predict.add_argument(
        "--workers",
        type=_positive_int,
        default=DEFAULT_WORKERS,
        help=f"questions in flight at once (default {DEFAULT_WORKERS})",
    )
    _answer_options(predict)
    predict.add_argument("--no-progress", action="store_true", help="no progress bar")

    for name, summary in (
        ("status", "is the service ready; which model versions does it serve"),
        ("metadata", "the served model's signatures and contract (web: the API's routes)"),
    ):
        command = commands.add_parser(
            name, parents=[connection], help=summary, description=summary.capitalize() + "."
        )
        command.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


# ---------------------------------------------------------------------------------- clients


def _check_backend_options(args: argparse.Namespace) -> None:
    if args.backend == "grpc" and args.url is not None:
        raise UsageError("--url is for --backend web or rest; give gRPC a --target")
    if args.backend != "grpc" and args.target is not None:
        raise UsageError("--target is for --backend grpc; give web and rest a --url")
    if args.backend == "web":
        for flag, value in (
            ("--model", args.model),
            ("--version", args.version),
            ("--batch-rows", args.batch_rows),
        ):
            if value is not None:
                raise UsageError(
                    f"{flag} is for --backend rest or grpc; the web layer picks its own model "
                    "version"
                )


def make_client(args: argparse.Namespace) -> WebClient | ServingClient:
    _check_backend_options(args)
    retry = RetryPolicy(attempts=args.attempts)
    if args.backend == "web":
        return WebClient(args.url or DEFAULT_WEB_URL, timeout=args.timeout, retry=retry)
    serving = {
        "model": args.model or DEFAULT_MODEL,
        "version": args.version,
        "timeout": args.timeout,
        "retry": retry,
        "batch_rows": args.batch_rows or DEFAULT_BATCH_ROWS,
    }
    if args.backend == "rest":
        return RestClient(args.url or DEFAULT_REST_URL, **serving)
    return GrpcClient(args.target or DEFAULT_TARGET, **serving)


# ---------------------------------------------------------------------------------- commands


def _read_text(path: Path) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text (byte {error.start})") from None


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False))


def run_ask(args: argparse.Namespace) -> int:
    passage = args.passage if args.passage is not None else _read_text(args.passage_file)
    questions: list[str] = args.question
    with make_client(args) as client:
        if len(questions) == 1:
            extractions = [
                client.ask(questions[0], passage, top_k=args.top_k, min_score=args.min_score)
            ]
        else:
            extractions = client.ask_questions(
                questions, passage, top_k=args.top_k, min_score=args.min_score
            )
    if args.json:
        for question, extraction in zip(questions, extractions, strict=True):
            _print_json(render.extraction_json(question, extraction))
    else:
        color = _color()
        print(
            "\n\n".join(
                render.extraction_text(question, passage, extraction, color)
                for question, extraction in zip(questions, extractions, strict=True)
            )
        )
    return EXIT_OK


def run_predict(args: argparse.Namespace) -> int:
    examples = read_examples(args.input, strict=False)
    with make_client(args) as client:
        run = predict_examples(
            client,
            examples,
            workers=args.workers,
            top_k=args.top_k,
            min_score=args.min_score,
            progress=not args.no_progress,
        )
    try:
        write_predictions(run.answers, args.output)
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(render.predict_summary(run, len(examples), args.output))
    for warning in render.predict_warnings(run):
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        if isinstance(client, WebClient):
            status = client.status()
            if args.json:
                _print_json(status.to_dict())
            else:
                print(render.web_status_text(client.where, status))
            return EXIT_OK if status.ready else EXIT_NOT_READY
        statuses = client.model_status()
        if args.json:
            _print_json({"model": client.model_name, "versions": [s.to_dict() for s in statuses]})
        else:
            print(render.model_status_text(client.where, client.model_name, statuses))
        return EXIT_OK if any(s.available for s in statuses) else EXIT_NOT_READY


def run_metadata(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        if isinstance(client, WebClient):
            openapi = client.openapi()
            status = client.status()
            if args.json:
                _print_json({"status": status.to_dict(), "openapi": openapi})
            else:
                print(render.web_metadata_text(client.where, status, openapi))
            return EXIT_OK
        metadata = client.metadata()
        contract = client.contract()
        if args.json:
            _print_json(metadata.to_dict() | {"contract": contract.config.to_dict()})
        else:
            print(render.metadata_text(client.where, metadata, contract))
        return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ask": run_ask,
    "predict": run_predict,
    "status": run_status,
    "metadata": run_metadata,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The gRPC protos load TensorFlow, whose start-up chatter on stderr means nothing here.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except (ClientError, ReaderError, UsageError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: still one line for the user, the trace with -v
        log.info("unexpected failure", exc_info=True)
        print(
            f"error: unexpected {type(error).__name__}: {error} (-v shows where)", file=sys.stderr
        )
        return EXIT_ERROR
