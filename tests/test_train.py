"""The training command end to end on generated data, its errors, resuming and seeding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from export.exporter import export_run
from model.readers import write_jsonl
from model.run_dir import BEST_WEIGHTS, CHARS, CONFIG, CURVES, HISTORY, SUMMARY, WORDS, RunConfig
from model.sample_data import generate_examples
from model.threshold import threshold_grid
from model.train import main
from tests.run_fixtures import keras_outputs, real_inputs

TINY = [
    "--char-dim", "16", "--hidden-dim", "16", "--word-dim", "8", "--w2v-epochs", "1",
    "--window-len", "128", "--window-stride", "96", "--max-question-len", "32",
    "--passage-dilations", "1,2", "--question-dilations", "1", "--modeling-dilations", "1",
    "--batch-size", "16",
]  # fmt: skip


@pytest.fixture
def data(generated_split) -> tuple[Path, Path]:
    return generated_split


def run(data, out: Path, *extra: str) -> int:
    train, dev = data
    return main(["--train", str(train), "--dev", str(dev), "--out", str(out), *TINY, *extra])


def test_training_writes_the_run_and_resumes(data, tmp_path) -> None:
    out = tmp_path / "run"
    assert run(data, out, "--epochs", "1") == 0
    for name in (CONFIG, CHARS, WORDS, BEST_WEIGHTS, HISTORY, SUMMARY, CURVES):
        assert (out / name).is_file(), name
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["train_questions"] == 60 and summary["dev_questions"] == 20
    assert summary["epochs"] == 1 and summary["best"]["epoch"] == 1
    assert summary["train_windows"] >= 60
    assert 0 <= summary["best"]["f1"] <= 100
    assert (out / CURVES).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    first = json.loads((out / HISTORY).read_text())
    assert sum(kind["total"] for kind in first[0]["dev_answer_types"].values()) == 20
    # the thresholds were chosen on dev and travel with the run's contract
    chosen = (first[0]["min_score"], first[0]["fallback_min_score"])
    assert chosen in threshold_grid()
    assert (summary["best"]["min_score"], summary["best"]["fallback_min_score"]) == chosen
    assert RunConfig.load(out).contract.thresholds() == chosen
    assert run(data, out, "--epochs", "2") == 0
    history = json.loads((out / HISTORY).read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[0] == first[0]


def test_same_seed_same_run(data, tmp_path) -> None:
    assert run(data, tmp_path / "a", "--epochs", "1", "--seed", "3") == 0
    assert run(data, tmp_path / "b", "--epochs", "1", "--seed", "3") == 0
    a = json.loads((tmp_path / "a" / HISTORY).read_text())[0]
    b = json.loads((tmp_path / "b" / HISTORY).read_text())[0]
    assert a["loss"] == b["loss"] and a["dev_f1"] == b["dev_f1"]


def test_a_fixed_min_score_is_used_and_saved(data, tmp_path) -> None:
    out = tmp_path / "run"
    assert run(data, out, "--epochs", "1", "--min-score", "0.85", "--lr-schedule", "cosine") == 0
    record = json.loads((out / HISTORY).read_text())[0]
    assert (record["min_score"], record["fallback_min_score"]) == (0.85, None)
    assert RunConfig.load(out).contract.thresholds() == (0.85, None)


def test_min_score_out_of_range_is_refused(data, tmp_path, capsys) -> None:
    assert run(data, tmp_path / "run", "--min-score", "1.5") == 2
    assert capsys.readouterr().err == "error: --min-score must be from 0 to 1, got 1.5\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ('{"question": "谁？", "passage": "张三。", "answers": []}\n', "no answerable (span)"),
        ("<html>not data</html>", "unknown format"),
    ],
)
def test_unusable_training_files_fail_clearly(
    data, tmp_path, capsys, content: str, message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    code = main(["--train", str(bad), "--dev", str(data[1]), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_several_dev_files_are_scored_as_one_set(data, tmp_path) -> None:
    other = write_jsonl(generate_examples(10, 2, split="dev"), tmp_path / "other.jsonl")
    out = tmp_path / "run"
    assert run(data, out, "--epochs", "1", "--dev", str(other)) == 0
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["dev_files"] == [str(data[1]), str(other)]
    assert summary["dev_questions"] == 30


def test_dev_files_sharing_question_ids_are_refused(data, tmp_path, capsys) -> None:
    assert run(data, tmp_path / "run", "--dev", str(data[1])) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 20 question ids appear more than once in "), err
    assert err.endswith("dev questions are scored by id, so ids must be unique\n"), err


def test_ablation_switches_reach_the_network_and_its_export(data, tmp_path) -> None:
    out = tmp_path / "run"
    assert run(data, out, "--epochs", "1", "--no-question-match", "--question-pooling", "max") == 0
    config = RunConfig.load(out).model
    assert (config.question_match, config.question_pooling) == (False, "max")
    version_dir = export_run(out, tmp_path / "models", "rc").path
    arrays = real_inputs(version_dir)
    served = tf.saved_model.load(str(version_dir)).signatures["serving_default"](
        **{name: tf.constant(value) for name, value in arrays.items()}
    )
    expected = keras_outputs(out, arrays)
    assert set(served) == set(expected) == {"bio_probs", "answer_type_probs", "boundary_probs"}
    for name in expected:
        np.testing.assert_allclose(served[name].numpy(), expected[name], atol=1e-5)


def test_boundary_weight_zero_trains_and_exports_without_the_head(data, tmp_path) -> None:
    out = tmp_path / "run"
    assert run(data, out, "--epochs", "1", "--boundary-weight", "0") == 0
    assert not RunConfig.load(out).model.boundary_head
    version_dir = export_run(out, tmp_path / "models", "rc").path
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    assert set(signature.structured_outputs) == {"bio_probs", "answer_type_probs"}


def test_balanced_answer_types_are_logged_and_trained_with(data, tmp_path, caplog) -> None:
    with caplog.at_level("INFO", logger="model.train"):
        assert run(data, tmp_path / "run", "--epochs", "1", "--balance-answer-types") == 0
    lines = [r.getMessage() for r in caplog.records if "answer-type loss weights" in r.message]
    assert len(lines) == 1
    weights = dict(
        (kind, float(weight))
        for kind, weight in (part.split() for part in lines[0].split(": ")[1].split(", "))
    )
    assert set(weights) == {"span", "yes", "no", "none"}
    assert weights["no"] > weights["span"] and weights["yes"] > weights["span"]
