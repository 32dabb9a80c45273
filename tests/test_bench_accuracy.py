"""The accuracy benchmark on a stand-in data folder laid out like ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_accuracy import main, run_accuracy
from contract.decode import decode_rows, scoring_answer
from contract.encode import Encoder
from model.dataset import encode_examples
from model.error_report import error_report, format_error_report
from model.evaluate import evaluate
from model.predict import KerasPredictor
from model.readers import write_jsonl
from model.sample_data import generate_examples
from model.threshold import threshold_grid
from tests.run_fixtures import make_untrained_run


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shared_data")
    for name, seed in (("cjrc", 1), ("wiki", 2)):
        (folder / name).mkdir()
        write_jsonl(generate_examples(12, seed, split="dev"), folder / name / "dev.json")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_untrained_run(tmp_path_factory.mktemp("run") / "run")


def test_scores_are_the_scorer_s_on_the_run_s_own_predictions(data, run) -> None:
    result = run_accuracy(run, data / "cjrc" / "dev.json", "cjrc")
    predictor = KerasPredictor.from_run(run)
    examples = generate_examples(12, 1, split="dev")
    encoded = encode_examples(examples, Encoder(predictor.contract))
    multi = any(len(reference) > 1 for e in examples for reference in e.references)
    answers = {
        e.id: scoring_answer(p, multi)
        for e, p in zip(examples, predictor.predict(encoded), strict=True)
    }
    expected = evaluate(examples, answers, "cjrc")
    assert (result["em"], result["f1"]) == (expected["em"], expected["f1"])
    assert result["questions"] == 12
    assert (result["min_score"], result["fallback_min_score"]) == predictor.contract.thresholds()


def test_table_has_a_row_per_run_and_a_column_per_dev_set(data, run, capsys) -> None:
    assert main(["--run", str(run), "--data", str(data)]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0] == "| run | cjrc dev EM / F1 (cjrc) | wiki dev EM / F1 (cmrc) |"
    assert len(table) == 3 and table[2].startswith(f"| {run} | ")


def test_missing_shared_data_is_a_clean_skip(run, tmp_path, capsys) -> None:
    assert main(["--run", str(run), "--data", str(tmp_path / "absent")]) == 0
    assert capsys.readouterr().out == f"skipped: no shared data at {tmp_path / 'absent'}\n"


def test_tuning_picks_the_grid_pair_with_the_best_f1(data, run) -> None:
    result = run_accuracy(run, data / "wiki" / "dev.json", "cmrc", tune_min_score=True)
    predictor = KerasPredictor.from_run(run)
    examples = generate_examples(12, 2, split="dev")
    encoded = encode_examples(examples, Encoder(predictor.contract))
    outputs = predictor.outputs(encoded)
    multi = any(len(reference) > 1 for e in examples for reference in e.references)
    f1_at = {}
    for min_score, floor in threshold_grid():
        predictions = decode_rows(
            encoded,
            outputs,
            top_k=predictor.contract.top_k,
            min_score=min_score,
            fallback_min_score=floor,
        )
        answers = {
            e.id: scoring_answer(p, multi) for e, p in zip(examples, predictions, strict=True)
        }
        f1_at[min_score, floor] = evaluate(examples, answers, "cmrc")["f1"]
    assert result["f1"] == max(f1_at.values())
    assert f1_at[result["min_score"], result["fallback_min_score"]] == result["f1"]


def test_errors_report_the_predictions_at_the_chosen_thresholds(data, run, capsys) -> None:
    result = run_accuracy(run, data / "cjrc" / "dev.json", "cjrc", errors=True)
    predictor = KerasPredictor.from_run(run)
    examples = generate_examples(12, 1, split="dev")
    encoded = encode_examples(examples, Encoder(predictor.contract))
    assert result["errors"] == error_report(examples, predictor.predict(encoded))
    given = result["errors"]["answer_types"]
    assert sum(sum(row.values()) for row in given.values()) == 12
    assert sum(result["errors"]["span_placement"].values()) == given["span"]["span"]

    assert main(["--run", str(run), "--data", str(data), "--dev", "cjrc", "--errors"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{run} on cjrc:\n\n{format_error_report(result['errors'])}\n\n| run |")
