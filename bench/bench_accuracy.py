"""Accuracy of trained runs on the shared real dev sets, each with its community metric.

Run: .venv/bin/python -m bench.bench_accuracy --run RUN [--run RUN ...] [--tune-min-score]
        [--errors]

Every run is scored on every dev set (CJRC with the CJRC metric, the wiki set with the CMRC
metric), at the span threshold the run chose on its own dev set, so a model trained on one
domain is also measured on the other. ``--tune-min-score`` instead chooses the thresholds on
each dev set from the training grid, as training does (optimistic, but it re-scores old runs
fairly after a change to the decoder). Prints a Markdown table; ``--errors`` first prints, per run
and dev set, which answer type was given for each gold type and where the first span lies
against the gold span (model.error_report). Without ../shared/data it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contract.decode import decode_rows
from contract.encode import Encoder
from contract.words import WordSegmenter
from model.dataset import encode_examples
from model.error_report import error_report, format_error_report
from model.evaluate import answer_type_summary
from model.predict import KerasPredictor
from model.readers import read_examples
from model.run_dir import RunConfig
from model.threshold import score_dev, threshold_grid

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV_SETS = {"cjrc": ("cjrc/dev.json", "cjrc"), "wiki": ("wiki/dev.json", "cmrc")}
"""Dev set name -> (file under the data folder, metric)."""


def run_accuracy(
    run: Path, dev_file: Path, metric: str, *, tune_min_score: bool = False, errors: bool = False
) -> dict[str, Any]:
    """EM/F1 of ``run``'s best checkpoint on ``dev_file`` at the run's own thresholds, or at
    the best of the training grid with ``tune_min_score``; also per gold answer type, and with
    ``errors`` the error report of the predictions at those thresholds."""
    started = time.perf_counter()
    predictor = KerasPredictor.from_run(run)
    user_dict = RunConfig.load(run).training.get("user_dict")
    segmenter = WordSegmenter.from_file(user_dict)
    examples = read_examples(dev_file, strict=False)
    encoded = encode_examples(examples, Encoder(predictor.contract, segmenter))
    outputs = predictor.outputs(encoded)
    top_k = predictor.contract.top_k
    choice = score_dev(
        examples,
        encoded,
        outputs,
        top_k=top_k,
        metric=metric,
        thresholds=threshold_grid() if tune_min_score else [predictor.contract.thresholds()],
    )
    result = {
        "em": choice.scores["em"],
        "f1": choice.scores["f1"],
        "questions": choice.scores["total"],
        "answer_types": choice.scores["answer_types"],
        "min_score": choice.min_score,
        "fallback_min_score": choice.fallback_min_score,
    }
    if errors:
        predictions = decode_rows(
            encoded,
            outputs,
            top_k=top_k,
            min_score=choice.min_score,
            fallback_min_score=choice.fallback_min_score,
        )
        result["errors"] = error_report(examples, predictions)
    result["seconds"] = time.perf_counter() - started
    return result


def markdown_table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One row per run, EM / F1 per dev set."""
    names = list(next(iter(results.values())))
    lines = [
        "| run | "
        + " | ".join(f"{name} dev EM / F1 ({DEV_SETS[name][1]})" for name in names)
        + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for run, by_dev in results.items():
        cells = [f"{by_dev[name]['em']:.2f} / {by_dev[name]['f1']:.2f}" for name in names]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_accuracy")
    parser.add_argument("--run", type=Path, action="append", required=True)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--dev", choices=sorted(DEV_SETS), action="append")
    parser.add_argument(
        "--tune-min-score",
        action="store_true",
        help="choose the thresholds on each dev set (as training does) instead of the run's",
    )
    parser.add_argument(
        "--errors",
        action="store_true",
        help="also print the answer types given per gold type and where first spans lie",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: no shared data at {args.data}")
        return 0
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for run in args.run:
        results[str(run)] = {}
        for name in args.dev or sorted(DEV_SETS):
            file, metric = DEV_SETS[name]
            result = run_accuracy(
                run,
                args.data / file,
                metric,
                tune_min_score=args.tune_min_score,
                errors=args.errors,
            )
            results[str(run)][name] = result
            print(
                f"{run} on {name}: EM {result['em']:.2f} F1 {result['f1']:.2f} "
                f"({result['questions']} questions, min_score {result['min_score']:.2f}, "
                f"fallback_min_score {result['fallback_min_score']}, "
                f"{result['seconds']:.0f} s); by gold answer type: {answer_type_summary(result)}",
                file=sys.stderr,
            )
            if args.errors:
                print(f"{run} on {name}:\n\n{format_error_report(result['errors'])}\n")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
