"""Ensembles of trained runs: averaged outputs, dev thresholds, export, and the runs refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from contract.encode import Encoder
from contract.tensors import batch_inputs
from export.exporter import export_run
from model.ensemble import EnsembleError, check_members, main, make_ensemble
from model.predict import KerasPredictor
from model.readers import read_examples
from model.run_dir import CONFIG, SUMMARY, RunConfig
from model.sample_data import generate_examples
from model.threshold import threshold_grid
from model.train import main as train_main
from tests.run_fixtures import keras_outputs
from tests.test_train import TINY


@pytest.fixture(scope="module")
def runs(tmp_path_factory, generated_split) -> tuple[Path, Path, Path]:
    """Two runs trained on the same data with other seeds and widths, and their dev file."""
    folder = tmp_path_factory.mktemp("ensemble")
    train, dev = generated_split
    common = ["--train", str(train), "--dev", str(dev), "--epochs", "1", *TINY]
    first, second = folder / "a", folder / "b"
    assert train_main([*common, "--out", str(first), "--seed", "1"]) == 0
    assert train_main([*common, "--out", str(second), "--seed", "2", "--hidden-dim", "24"]) == 0
    return first, second, dev


def contract_arrays(run: Path) -> dict[str, np.ndarray]:
    contract = RunConfig.load(run).contract
    encoder = Encoder(contract)
    rows = []
    for example in generate_examples(3, 9, split="dev"):
        encoded = encoder.encode(example.question, example.passage)
        rows.append((encoded.question, encoded.windows[0]))
    return batch_inputs(rows, contract)


def test_the_ensemble_outputs_the_mean_of_its_members(runs, tmp_path) -> None:
    first, second, _ = runs
    out = tmp_path / "ensemble"
    summary = make_ensemble([first, second], out)
    config = RunConfig.load(out)
    assert config.members == (RunConfig.load(first).model, RunConfig.load(second).model)
    assert config.contract == RunConfig.load(first).contract  # no dev: the first run's
    assert summary["members"] == [str(first), str(second)]
    arrays = contract_arrays(first)
    together = keras_outputs(out, arrays)
    apart = [keras_outputs(run, arrays) for run in (first, second)]
    assert set(together) == {"bio_probs", "answer_type_probs", "boundary_probs"}
    for name, value in together.items():
        np.testing.assert_allclose(value, (apart[0][name] + apart[1][name]) / 2, atol=1e-6)


def test_the_exported_ensemble_serves_the_averaged_outputs(runs, tmp_path) -> None:
    first, second, _ = runs
    out = tmp_path / "ensemble"
    make_ensemble([first, second], out)
    result = export_run(out, tmp_path / "models", "rc")
    arrays = contract_arrays(first)
    served = tf.saved_model.load(str(result.path)).signatures["serving_default"](
        **{name: tf.constant(value) for name, value in arrays.items()}
    )
    expected = keras_outputs(out, arrays)
    for name, value in expected.items():
        np.testing.assert_allclose(served[name].numpy(), value, atol=1e-5)
    sizes = [json.loads((run / SUMMARY).read_text())["parameters"] for run in (first, second)]
    assert result.parameters == sum(sizes)


def test_the_command_chooses_thresholds_on_dev_and_predicts_like_a_run(runs, tmp_path) -> None:
    first, second, dev = runs
    out = tmp_path / "ensemble"
    assert (
        main(["--run", str(first), "--run", str(second), "--out", str(out), "--dev", str(dev)]) == 0
    )
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["dev_questions"] == 20 and summary["dev_files"] == [str(dev)]
    best = summary["best"]
    contract = RunConfig.load(out).contract
    assert (best["min_score"], best["fallback_min_score"]) == contract.thresholds()
    assert contract.thresholds() in threshold_grid()
    examples = read_examples(dev)
    encoded = [Encoder(contract).encode(e.question, e.passage) for e in examples]
    predictions = KerasPredictor.from_run(out).predict(encoded)
    assert len(predictions) == 20


def copy_run(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)
    return target


def test_runs_that_read_text_differently_are_refused(runs, tmp_path) -> None:
    first, second, _ = runs
    other = copy_run(second, tmp_path / "other")
    config = json.loads((other / CONFIG).read_text())
    config["contract"]["window_stride"] = 64
    (other / CONFIG).write_text(json.dumps(config))
    with pytest.raises(EnsembleError, match="reads text differently from"):
        check_members([first, other])


def test_runs_with_other_vocabularies_are_refused(runs, tmp_path) -> None:
    first, second, _ = runs
    other = copy_run(second, tmp_path / "other")
    with (other / "words.txt").open("a", encoding="utf-8") as words:
        words.write("新词\n")
    with pytest.raises(EnsembleError, match="has other vocabularies than"):
        check_members([first, other])


def test_one_run_or_an_ensemble_member_is_refused(runs, tmp_path, capsys) -> None:
    first, second, _ = runs
    assert main(["--run", str(first), "--out", str(tmp_path / "e")]) == 2
    assert capsys.readouterr().err == "error: an ensemble needs at least two runs, got 1\n"
    inner = tmp_path / "inner"
    make_ensemble([first, second], inner)
    assert main(["--run", str(inner), "--run", str(first), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {inner} is itself an ensemble; list its members instead\n"


def test_an_ensemble_directory_cannot_be_trained_on(runs, tmp_path, capsys) -> None:
    first, second, dev = runs
    out = tmp_path / "ensemble"
    make_ensemble([first, second], out)
    assert train_main(["--train", str(dev), "--dev", str(dev), "--out", str(out), *TINY]) == 2
    assert "holds an ensemble, not a run: train its members instead" in capsys.readouterr().err
