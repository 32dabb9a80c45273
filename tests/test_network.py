"""The whole network: contract of inputs/outputs, masking, saving, config, losses, learning."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from contract.tensors import BOUNDARY_PROBS
from model.config import ModelConfig
from model.layers import padding_mask
from model.losses import (
    answer_type_loss,
    balanced_class_weights,
    bio_loss,
    boundary_loss,
    boundary_targets,
)
from model.network import WORD_EMBEDDING_LAYER, build_model, set_word_vectors

TINY = ModelConfig(
    char_vocab_size=30,
    word_vocab_size=40,
    char_dim=16,
    word_dim=8,
    hidden_dim=16,
    passage_dilations=(1, 2),
    question_dilations=(1,),
    modeling_dilations=(1, 2),
    dropout=0.1,
    max_passage_len=40,
    max_question_len=12,
)


def _batch(
    passage_lengths: list[int], question_lengths: list[int], seed: int = 0
) -> dict[str, np.ndarray]:
    """Random ids with per-example real lengths, padded (id 0, match 0) to the longest."""
    rng = np.random.default_rng(seed)
    batch, p, q = len(passage_lengths), max(passage_lengths), max(question_lengths)
    p_mask = np.arange(p)[None] < np.array(passage_lengths)[:, None]
    q_mask = np.arange(q)[None] < np.array(question_lengths)[:, None]
    return {
        "passage_char_ids": (rng.integers(1, 30, (batch, p)) * p_mask).astype("int32"),
        "passage_word_ids": (rng.integers(1, 40, (batch, p)) * p_mask).astype("int32"),
        "question_char_ids": (rng.integers(1, 30, (batch, q)) * q_mask).astype("int32"),
        "question_word_ids": (rng.integers(1, 40, (batch, q)) * q_mask).astype("int32"),
        "passage_match": (rng.integers(0, 2, (batch, p, 2)) * p_mask[..., None]).astype("float32"),
    }


def _pad_batch(inputs: dict[str, np.ndarray], extra_p: int, extra_q: int) -> dict:
    """Appends padding positions to every input."""
    padded = {}
    for name, value in inputs.items():
        extra = extra_q if name.startswith("question") else extra_p
        widths = [(0, 0), (0, extra)] + [(0, 0)] * (value.ndim - 2)
        padded[name] = np.pad(value, widths)
    return padded


@pytest.fixture(scope="module")
def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(1)
    return build_model(TINY)


@pytest.mark.parametrize(("batch", "p", "q"), [(1, 5, 3), (3, 17, 7), (2, 40, 12)])
def test_outputs_have_contract_shapes_and_dtypes(
    tiny_model: keras.Model, batch: int, p: int, q: int
) -> None:
    out = tiny_model(_batch([p] * batch, [q] * batch))
    assert set(out) == {"bio_probs", "answer_type_probs"}
    assert out["bio_probs"].shape == (batch, p, 3)
    assert out["answer_type_probs"].shape == (batch, 4)
    assert out["bio_probs"].dtype == tf.float32
    assert out["answer_type_probs"].dtype == tf.float32
    np.testing.assert_allclose(np.sum(out["bio_probs"], axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.sum(out["answer_type_probs"], axis=-1), 1.0, atol=1e-5)


def test_model_inputs_are_named_and_dynamic(tiny_model: keras.Model) -> None:
    specs = {t.name: (tuple(t.shape), t.dtype) for t in tiny_model.inputs}
    assert specs == {
        "passage_char_ids": ((None, None), "int32"),
        "passage_word_ids": ((None, None), "int32"),
        "question_char_ids": ((None, None), "int32"),
        "question_word_ids": ((None, None), "int32"),
        "passage_match": ((None, None, 2), "float32"),
    }


VARIANTS = {
    "default": {},
    "conditioned": {"condition_on_question": True},
    "max-pooled question": {"question_pooling": "max"},
    "no match features": {"question_match": False},
    "boundary head": {"boundary_head": True},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_changes_no_real_output(variant: str) -> None:
    keras.utils.set_random_seed(2)
    model = build_model(replace(TINY, **VARIANTS[variant]))
    predict = tf.function(model)
    lengths, q_lengths = [13, 6, 9], [5, 2, 4]
    inputs = _batch(lengths, q_lengths, seed=3)
    base = predict(inputs)
    padded = predict(_pad_batch(inputs, extra_p=11, extra_q=4))
    np.testing.assert_allclose(padded["answer_type_probs"], base["answer_type_probs"], atol=1e-5)
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(
            padded["bio_probs"][row, :length], base["bio_probs"][row, :length], atol=1e-5
        )
        np.testing.assert_array_equal(
            padded["bio_probs"][row, length:], np.tile([1.0, 0.0, 0.0], (24 - length, 1))
        )
        if BOUNDARY_PROBS in base:
            np.testing.assert_allclose(
                padded[BOUNDARY_PROBS][row, :length], base[BOUNDARY_PROBS][row, :length], atol=1e-5
            )
            np.testing.assert_array_equal(padded[BOUNDARY_PROBS][row, length:], 0.0)
        # Each example alone, unpadded, gives what it gives inside the padded batch.
        alone = {
            name: value[row : row + 1, : q_lengths[row] if name.startswith("question") else length]
            for name, value in inputs.items()
        }
        alone_out = predict(alone)
        np.testing.assert_allclose(
            alone_out["bio_probs"][0], base["bio_probs"][row, :length], atol=1e-5
        )
        np.testing.assert_allclose(
            alone_out["answer_type_probs"][0], base["answer_type_probs"][row], atol=1e-5
        )


def test_boundary_head_gives_start_and_end_distributions_over_real_positions() -> None:
    keras.utils.set_random_seed(3)
    model = build_model(replace(TINY, boundary_head=True))
    out = model(_batch([9, 4], [3, 5], seed=7))
    assert set(out) == {"bio_probs", "answer_type_probs", BOUNDARY_PROBS}
    assert out[BOUNDARY_PROBS].shape == (2, 9, 2)
    np.testing.assert_allclose(np.sum(out[BOUNDARY_PROBS][0], axis=0), [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(np.sum(out[BOUNDARY_PROBS][1, :4], axis=0), [1.0, 1.0], atol=1e-5)
    assert "boundary_probs" not in build_model(TINY)(_batch([9], [3]))


def test_match_features_are_read_only_when_switched_on() -> None:
    inputs = _batch([9, 6], [4, 3], seed=4)
    flipped = {**inputs, "passage_match": 1.0 - inputs["passage_match"]}
    for question_match, should_differ in ((True, True), (False, False)):
        keras.utils.set_random_seed(3)
        model = build_model(replace(TINY, question_match=question_match))
        base, other = model(inputs), model(flipped)
        differs = not np.allclose(base["bio_probs"], other["bio_probs"], atol=1e-6)
        assert differs == should_differ
        assert "passage_match" in {t.name for t in model.inputs}


def test_question_pooling_picks_the_layer() -> None:
    attention = build_model(TINY).get_layer("question_pooling")
    maximum = build_model(replace(TINY, question_pooling="max")).get_layer("question_pooling")
    assert type(attention).__name__ == "AttentionPooling"
    assert type(maximum).__name__ == "MaskedMaxPooling"


def test_passage_longer_than_position_table_is_rejected(tiny_model: keras.Model) -> None:
    with pytest.raises(ValueError, match="sequence length 41 exceeds the position table size 40"):
        tiny_model(_batch([41], [3]))


def test_saved_keras_file_reloads_with_identical_outputs(
    tiny_model: keras.Model, tmp_path: Path
) -> None:
    inputs = _batch([9, 4], [3, 5], seed=5)
    expected = tiny_model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    tiny_model.save(path)
    loaded = keras.saving.load_model(path)
    actual = loaded.predict(inputs, verbose=0)
    for name in ("bio_probs", "answer_type_probs"):
        np.testing.assert_array_equal(actual[name], expected[name])
    assert not loaded.get_layer(WORD_EMBEDDING_LAYER).trainable


def test_config_round_trips_through_json() -> None:
    config = ModelConfig(
        passage_dilations=(1, 3),
        dropout=0.2,
        condition_on_question=True,
        question_match=False,
        question_pooling="max",
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert data["passage_dilations"] == [1, 3]
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict({}) == ModelConfig()


def test_config_rejects_bad_values_by_name() -> None:
    with pytest.raises(ValueError, match="unknown ModelConfig keys: colour, size"):
        ModelConfig.from_dict({"size": 1, "colour": 2})
    with pytest.raises(ValueError, match=r"ModelConfig.hidden_dim must be a positive int, got 0"):
        ModelConfig(hidden_dim=0)
    with pytest.raises(ValueError, match=r"ModelConfig.question_dilations must be a non-empty"):
        ModelConfig(question_dilations=())
    with pytest.raises(
        ValueError, match=r"ModelConfig.question_pooling must be one of attention, max, got 'mean'"
    ):
        ModelConfig(question_pooling="mean")
    with pytest.raises(ValueError, match=r"ModelConfig.dropout must be in \[0, 1\), got 1.0"):
        ModelConfig(dropout=1.0)
    with pytest.raises(ValueError, match=r"ModelConfig.word_vocab_size must be at least 2"):
        ModelConfig(word_vocab_size=1)


def test_word_vectors_are_loaded_and_frozen_by_default() -> None:
    model = build_model(TINY)
    matrix = np.arange(40 * 8, dtype="float32").reshape(40, 8)
    set_word_vectors(model, matrix)
    layer = model.get_layer(WORD_EMBEDDING_LAYER)
    np.testing.assert_array_equal(layer.embeddings.numpy(), matrix)
    assert layer.embeddings.path not in {w.path for w in model.trainable_weights}
    with pytest.raises(ValueError, match=r"shape \(40, 9\), the model expects \(40, 8\)"):
        set_word_vectors(model, np.zeros((40, 9)))

    trainable = build_model(replace(TINY, word_trainable=True))
    trainable_paths = {w.path for w in trainable.trainable_weights}
    assert trainable.get_layer(WORD_EMBEDDING_LAYER).embeddings.path in trainable_paths


def test_bio_loss_matches_hand_computation() -> None:
    labels = np.array([[0, 1, 2, 0]], "int32")
    probs = np.array(
        [[[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.1, 0.1, 0.8]]], "float32"
    )
    mask = np.array([[1, 1, 1, 0]], "float32")
    plain = -(math.log(0.8) + math.log(0.5) + math.log(0.6)) / 3
    assert float(bio_loss(labels, probs, mask)) == pytest.approx(plain, rel=1e-6)
    assert float(bio_loss(labels, probs, mask, focal_gamma=0.0)) == pytest.approx(plain, rel=1e-6)
    focal = -(0.2**2 * math.log(0.8) + 0.5**2 * math.log(0.5) + 0.4**2 * math.log(0.6)) / 3
    assert float(bio_loss(labels, probs, mask, focal_gamma=2.0)) == pytest.approx(focal, rel=1e-5)
    # B and I positions counted span_weight times, still divided by the real positions
    weighted = -(math.log(0.8) + 4 * math.log(0.5) + 4 * math.log(0.6)) / 3
    weighted_loss = float(bio_loss(labels, probs, mask, span_weight=4.0))
    assert weighted_loss == pytest.approx(weighted, rel=1e-6)
    with pytest.raises(ValueError, match="span_weight must be > 0, got 0"):
        bio_loss(labels, probs, mask, span_weight=0)

    # The masked position is ignored whatever its label and probabilities.
    changed_labels, changed_probs = labels.copy(), probs.copy()
    changed_labels[0, 3], changed_probs[0, 3] = 2, [1.0, 0.0, 0.0]
    assert float(bio_loss(changed_labels, changed_probs, mask)) == pytest.approx(plain, rel=1e-6)


def test_bio_loss_mask_from_passage_char_ids() -> None:
    ids = np.array([[4, 9, 0]], "int32")
    probs = np.full((1, 3, 3), 0.25, "float32")
    probs[..., 0] = 0.5
    loss = bio_loss(np.zeros((1, 3), "int32"), probs, padding_mask(ids))
    assert float(loss) == pytest.approx(-math.log(0.5), rel=1e-6)
    with pytest.raises(ValueError, match="focal_gamma must be >= 0, got -1"):
        bio_loss(np.zeros((1, 3), "int32"), probs, padding_mask(ids), focal_gamma=-1)


def test_answer_type_loss_matches_hand_computation() -> None:
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.4, 0.1]], "float32")
    expected = -(math.log(0.7) + math.log(0.4)) / 2
    assert float(answer_type_loss(np.array([0, 2]), probs)) == pytest.approx(expected, rel=1e-6)
    weighted = -(0.5 * math.log(0.7) + 3.0 * math.log(0.4)) / 2
    loss = answer_type_loss(np.array([0, 2]), probs, class_weights=(0.5, 1.0, 3.0, 1.0))
    assert float(loss) == pytest.approx(weighted, rel=1e-6)


def test_boundary_targets_mark_where_each_span_starts_and_ends() -> None:
    # a span opened by I (read as the decoder reads it), a B I span, a one-character span, none
    labels = np.array([[2, 2, 0, 1, 2, 0, 1], [0, 0, 0, 0, 0, 0, 0]], "int32")
    starts, ends = boundary_targets(labels)
    np.testing.assert_array_equal(starts, [[1, 0, 0, 1, 0, 0, 1], [0] * 7])
    np.testing.assert_array_equal(ends, [[0, 1, 0, 0, 1, 0, 1], [0] * 7])


def test_boundary_loss_sums_gold_positions_and_skips_windows_without_answer() -> None:
    labels = np.array([[0, 1, 2, 0, 1], [0, 0, 0, 0, 0]], "int32")
    probs = np.zeros((2, 5, 2), "float32")
    probs[0, :, 0] = [0.1, 0.4, 0.1, 0.1, 0.3]  # starts at 1 and 4: 0.7 together
    probs[0, :, 1] = [0.2, 0.2, 0.5, 0.0, 0.1]  # ends at 2 and 4: 0.6 together
    probs[1] = 0.2  # no answer: whatever it says costs nothing
    expected = -(math.log(0.7) + math.log(0.6))
    assert float(boundary_loss(labels, probs)) == pytest.approx(expected, rel=1e-6)
    assert float(boundary_loss(labels[1:], probs[1:])) == 0.0


def test_balanced_class_weights_give_each_present_class_the_same_total() -> None:
    labels = [0, 0, 0, 0, 0, 0, 1, 1, 3, 3, 3, 3]  # 6 span, 2 yes, no "no", 4 none
    weights = balanced_class_weights(labels, 4)
    assert weights == pytest.approx((12 / (3 * 6), 12 / (3 * 2), 1.0, 12 / (3 * 4)))
    per_class_total = [weights[k] * labels.count(k) for k in (0, 1, 3)]
    assert per_class_total == pytest.approx([4.0, 4.0, 4.0])
    assert sum(weights[k] for k in labels) == pytest.approx(len(labels))


def test_model_overfits_eight_fixed_examples() -> None:
    keras.utils.set_random_seed(4)
    model = build_model(replace(TINY, dropout=0.0))
    inputs = _batch([20, 14, 9, 20, 17, 12, 20, 6], [5, 3, 4, 6, 2, 5, 4, 3], seed=6)
    rng = np.random.default_rng(8)
    tags = rng.integers(0, 3, (8, 20)).astype("int32")
    mask = padding_mask(inputs["passage_char_ids"])
    tags = tags * np.asarray(mask, "int32")
    types = rng.integers(0, 4, (8,)).astype("int32")
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)

    @tf.function
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            out = model(inputs, training=True)
            loss = bio_loss(tags, out["bio_probs"], mask) + answer_type_loss(
                types, out["answer_type_probs"]
            )
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        return loss

    first = float(step())
    for _ in range(99):
        last = float(step())
    assert last < first / 5, (first, last)
