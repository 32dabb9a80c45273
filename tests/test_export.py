from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from contract.served import ServedContract
from export.exporter import export_run, saved_parameter_count
from export.versions import VersionExistsError, publish_version
from export.warmup import WARMUP_FILE
from model.dataset import id_inputs
from model.network import build_model
from model.run_dir import RunConfig, load_vocabularies
from tests.run_fixtures import keras_outputs, make_untrained_run, real_inputs

ROOT = Path(__file__).resolve().parents[1]
SAVED_MODEL_CLI = str(Path(sys.executable).parent / "saved_model_cli")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("export")
    run = make_untrained_run(base / "run")
    models = base / "models"
    result = export_run(run, models, "rc")
    assert result.version == 1
    return run, result.path


def test_saved_model_cli_show_lists_named_typed_signatures(exported) -> None:
    _, version_dir = exported
    shown = subprocess.run(
        [SAVED_MODEL_CLI, "show", "--dir", str(version_dir), "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for signature in ("serving_default", "qa", "qa_ids", "contract"):
        assert f"signature_def['{signature}']:" in shown
    assert (
        "inputs['passage_chars'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1, -1)"
        in shown
    )
    assert (
        "inputs['passage_match'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, 2)"
        in shown
    )
    assert "inputs['passage_char_ids'] tensor_info:\n        dtype: DT_INT32" in shown
    assert (
        "outputs['bio_probs'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, 3)"
        in shown
    )
    assert (
        "outputs['answer_type_probs'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 4)"
        in shown
    )


def test_saved_model_cli_run_matches_the_keras_model(exported, tmp_path) -> None:
    run, version_dir = exported
    arrays = real_inputs(version_dir)
    inputs_file = tmp_path / "inputs.npz"
    np.savez(
        inputs_file, **{k: v.astype(str) if v.dtype == object else v for k, v in arrays.items()}
    )
    out_dir = tmp_path / "out"
    subprocess.run(
        [
            SAVED_MODEL_CLI,
            "run",
            "--dir",
            str(version_dir),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            ";".join(f"{k}={inputs_file}[{k}]" for k in arrays),
            "--outdir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = keras_outputs(run, arrays)
    for name in ("bio_probs", "answer_type_probs"):
        np.testing.assert_allclose(np.load(out_dir / f"{name}.npy"), expected[name], atol=1e-5)


def test_weights_are_stored_once_and_without_optimizer_state(exported) -> None:
    run, version_dir = exported
    network = build_model(RunConfig.load(run).model)
    assert saved_parameter_count(version_dir) == network.count_params()
    names = [
        name for name, _ in tf.train.list_variables(str(version_dir / "variables" / "variables"))
    ]
    assert not [n for n in names if "optimizer" in n.lower()]


def test_unknown_and_padding_strings_map_to_reserved_ids(exported) -> None:
    _, version_dir = exported
    loaded = tf.saved_model.load(str(version_dir))
    arrays = real_inputs(version_dir)
    text_out = loaded.signatures["qa"](
        **{k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in arrays.items()}
    )
    chars, words = load_vocabularies(exported[0])
    ids = id_inputs(arrays, chars, words)
    assert (ids["passage_char_ids"] == 1).any() and (ids["passage_char_ids"] == 0).any()
    ids |= {name: arrays[name] for name in ("passage_length", "question_length")}
    ids_out = loaded.signatures["qa_ids"](**{k: tf.constant(v) for k, v in ids.items()})
    for name in ("bio_probs", "answer_type_probs"):
        np.testing.assert_allclose(text_out[name].numpy(), ids_out[name].numpy(), atol=1e-6)


def test_positions_beyond_the_stated_lengths_are_ignored(exported) -> None:
    """TF Serving's pad_variable_length_inputs pads merged requests with the first value."""
    _, version_dir = exported
    qa = tf.saved_model.load(str(version_dir)).signatures["qa"]
    arrays = real_inputs(version_dir)
    padded = {}
    for name, value in arrays.items():
        if value.ndim >= 2:
            extra = 40 if name.startswith("passage") else 16  # stays within the position tables
            width = [(0, 0), (0, extra)] + [(0, 0)] * (value.ndim - 2)
            fill = value.flat[0]
            value = np.pad(value, width, constant_values=fill)
        padded[name] = value
    assert padded["passage_chars"][0, -1] == arrays["passage_chars"][0, 0] != ""

    def call(inputs):
        return qa(
            **{k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in inputs.items()}
        )

    plain, merged = call(arrays), call(padded)
    width = arrays["passage_chars"].shape[1]
    np.testing.assert_allclose(
        merged["bio_probs"].numpy()[:, :width], plain["bio_probs"].numpy(), atol=1e-5
    )
    np.testing.assert_allclose(
        merged["answer_type_probs"].numpy(), plain["answer_type_probs"].numpy(), atol=1e-5
    )


def test_contract_travels_in_assets_extra_and_in_a_signature(exported) -> None:
    _, version_dir = exported
    on_disk = ServedContract.load(version_dir)
    loaded = tf.saved_model.load(str(version_dir))
    answer = loaded.signatures["contract"](query=tf.constant(["x"]))["contract_json"]
    assert ServedContract.from_json(answer.numpy()[0].decode("utf-8")) == on_disk
    assert on_disk.model_name == "rc"
    assert on_disk.config.window_len == 128


def test_every_warmup_record_parses_and_runs(exported) -> None:
    _, version_dir = exported
    loaded = tf.saved_model.load(str(version_dir))
    records = list(tf.data.TFRecordDataset(str(version_dir / "assets.extra" / WARMUP_FILE)))
    assert 0 < len(records) <= 1000
    shapes = set()
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "rc"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](
            **{k: tf.constant(v) for k, v in inputs.items()}
        )
        assert out["bio_probs"].shape[:2] == inputs["passage_chars"].shape
        shapes.add(inputs["passage_chars"].shape)
    assert {s[1] for s in shapes} == {64, 128}  # every passage bucket of a 128-window model
    assert {s[0] for s in shapes} == {1, 8}


def test_second_export_is_version_two_and_existing_versions_are_kept(exported, tmp_path) -> None:
    run, version_dir = exported
    models = version_dir.parent.parent
    assert export_run(run, models, "rc").version == 2
    with pytest.raises(VersionExistsError, match="already exists"):
        export_run(run, models, "rc", version=1)
    assert sorted(p.name for p in (models / "rc").iterdir()) == ["1", "2"]


def test_a_failed_write_leaves_no_version_behind(tmp_path) -> None:
    def fail(target: Path) -> None:
        target.mkdir()
        (target / "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish_version(tmp_path / "m", 1, fail)
    assert list((tmp_path / "m").iterdir()) == []


def test_version_directory_appears_only_when_complete(tmp_path) -> None:
    seen = []

    def write(target: Path) -> None:
        target.mkdir()
        (target / "saved_model.pb").write_bytes(b"x")
        seen.append(sorted(p.name for p in (tmp_path / "m").iterdir()))

    publish_version(tmp_path / "m", 3, write)
    assert seen[0] and all(not name.isdigit() for name in seen[0])
    assert (tmp_path / "m" / "3" / "saved_model.pb").is_file()


def test_cli_reports_missing_run_clearly(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "export",
            "--run",
            str(tmp_path / "nope"),
            "--models",
            str(tmp_path / "models"),
            "--name",
            "rc",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "is not a training run: config.json is missing" in result.stderr
    assert "Traceback" not in result.stderr
