"""The custom layers: exact values on tiny inputs, padding invariance and config round trips."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from model.layers import (
    AttentionPooling,
    BiDAFAttention,
    BroadcastConcat,
    GatedDilatedConv1D,
    MaskedMaxPooling,
    MaskedTagSoftmax,
    PositionEmbedding,
    PositionSoftmax,
    SequenceMask,
    lowest_value,
    padding_mask,
)

RNG = np.random.default_rng(7)


def _random(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype("float32")


def _lengths_mask(lengths: list[int], length: int) -> np.ndarray:
    return (np.arange(length)[None, :] < np.array(lengths)[:, None]).astype("float32")


def _pad(x: np.ndarray, extra: int) -> np.ndarray:
    """Appends ``extra`` positions of garbage (not zeros) along axis 1."""
    garbage = RNG.standard_normal((x.shape[0], extra, *x.shape[2:])).astype(x.dtype)
    return np.concatenate([x, garbage], axis=1)


def _pad_mask(mask: np.ndarray, extra: int) -> np.ndarray:
    return np.concatenate([mask, np.zeros((mask.shape[0], extra), "float32")], axis=1)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_padding_mask_marks_nonzero_ids() -> None:
    ids = np.array([[5, 1, 0, 0], [2, 3, 4, 0]], "int32")
    expected = [[1, 1, 0, 0], [1, 1, 1, 0]]
    np.testing.assert_array_equal(padding_mask(ids), expected)
    np.testing.assert_array_equal(SequenceMask()(ids), expected)


def test_lowest_value_is_finite_minimum_per_dtype() -> None:
    assert lowest_value("float16") == -65504.0
    assert lowest_value("float32") == float(np.finfo(np.float32).min)


def test_position_embedding_adds_the_first_rows_of_its_table() -> None:
    layer = PositionEmbedding(6)
    x = _random(2, 4, 3)
    out = np.asarray(layer(x))
    table = layer.embeddings.numpy()
    np.testing.assert_allclose(out, x + table[None, :4], atol=1e-6)


def test_position_embedding_rejects_static_length_over_table() -> None:
    layer = PositionEmbedding(3, name="pos")
    with pytest.raises(
        ValueError, match="pos: sequence length 4 exceeds the position table size 3"
    ):
        layer(_random(1, 4, 2))


def test_position_embedding_rejects_dynamic_length_over_table() -> None:
    layer = PositionEmbedding(3, name="pos")
    call = tf.function(layer, input_signature=[tf.TensorSpec((None, None, 2), tf.float32)])
    assert call(np.zeros((1, 3, 2), "float32")).shape == (1, 3, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="exceeds the position table size 3"):
        call(np.zeros((1, 4, 2), "float32"))


def _reference_gated_conv(x: np.ndarray, mask: np.ndarray, layer: GatedDilatedConv1D) -> np.ndarray:
    """The block written out position by position with numpy."""
    kernel, bias = (w.numpy() for w in layer.conv.weights)
    x = x * mask[..., None]
    length, half = x.shape[1], layer.filters
    offsets = (np.arange(layer.kernel_size) - (layer.kernel_size - 1) // 2) * layer.dilation_rate
    conv = np.tile(bias, (x.shape[0], length, 1))
    for t in range(length):
        for k, offset in enumerate(offsets):
            if 0 <= t + offset < length:
                conv[:, t] += x[:, t + offset] @ kernel[k]
    value, gate = conv[..., :half], 1.0 / (1.0 + np.exp(-conv[..., half:]))
    residual = x if layer.projection is None else x @ layer.projection.kernel.numpy()
    return (residual * (1 - gate) + value * gate) * mask[..., None]


@pytest.mark.parametrize(("in_dim", "dilation"), [(4, 1), (4, 2), (6, 3)])
def test_gated_conv_matches_numpy_reference(in_dim: int, dilation: int) -> None:
    layer = GatedDilatedConv1D(4, kernel_size=3, dilation_rate=dilation, dropout=0.5)
    x, mask = _random(2, 9, in_dim), _lengths_mask([9, 6], 9)
    out = np.asarray(layer(x, sequence_mask=mask))
    assert (layer.projection is None) == (in_dim == 4)
    np.testing.assert_allclose(out, _reference_gated_conv(x, mask, layer), atol=1e-5)
    assert np.all(out[1, 6:] == 0.0)


def test_gated_conv_dropout_only_in_training() -> None:
    layer = GatedDilatedConv1D(8, dilation_rate=2, dropout=0.5)
    x, mask = _random(2, 10, 8), _lengths_mask([10, 7], 10)
    inference = np.asarray(layer(x, sequence_mask=mask))
    np.testing.assert_array_equal(inference, np.asarray(layer(x, sequence_mask=mask)))
    training = np.asarray(layer(x, sequence_mask=mask, training=True))
    assert not np.allclose(training, inference)
    assert np.all(training[1, 7:] == 0.0)


def test_bidaf_with_one_real_query_token_matches_hand_computation() -> None:
    layer = BiDAFAttention()
    dim = 3
    context, query = _random(1, 4, dim), _random(1, 3, dim)
    context_mask, query_mask = _lengths_mask([3], 4), _lengths_mask([1], 3)
    out = np.asarray(layer(context, query, context_mask=context_mask, query_mask=query_mask))

    w = layer.similarity_kernel.numpy()
    c, q0 = context[0, :3], query[0, 0]
    # One real query token: every context position attends to it with weight 1.
    c2q = np.tile(q0, (3, 1))
    scores = c @ w[:dim] + q0 @ w[dim : 2 * dim] + (c * q0) @ w[2 * dim :]
    q2c = _softmax(scores) @ c
    expected = np.concatenate([c, c2q, c * c2q, c * q2c], axis=-1)
    assert out.shape == (1, 4, 4 * dim)
    np.testing.assert_allclose(out[0, :3], expected, atol=1e-5)
    assert np.all(out[0, 3] == 0.0)


def test_bidaf_similarity_equals_explicit_trilinear_form() -> None:
    layer = BiDAFAttention()
    context, query = _random(2, 5, 4), _random(2, 3, 4)
    layer(context, query, context_mask=np.ones((2, 5), "float32"), query_mask=np.ones((2, 3)))
    w = layer.similarity_kernel.numpy()
    c = context[:, :, None, :].repeat(3, axis=2)
    q = query[:, None, :, :].repeat(5, axis=1)
    explicit = np.concatenate([c, q, c * q], axis=-1) @ w
    np.testing.assert_allclose(np.asarray(layer.similarity(context, query)), explicit, atol=1e-5)


def test_bidaf_rejects_different_widths() -> None:
    with pytest.raises(ValueError, match="bi: context and query widths differ \\(4 vs 5\\)"):
        BiDAFAttention(name="bi")(
            _random(1, 3, 4),
            _random(1, 2, 5),
            context_mask=np.ones((1, 3)),
            query_mask=np.ones((1, 2)),
        )


def test_bidaf_in_float16_stays_finite() -> None:
    layer = BiDAFAttention(dtype="float16")
    context, query = _random(2, 6, 4) * 30, _random(2, 5, 4) * 30
    out = np.asarray(
        layer(
            context,
            query,
            context_mask=_lengths_mask([6, 2], 6),
            query_mask=_lengths_mask([5, 1], 5),
        )
    )
    assert out.dtype == np.float16
    assert np.all(np.isfinite(out))


def test_attention_pooling_matches_hand_computation() -> None:
    layer = AttentionPooling(5)
    x, mask = _random(2, 6, 3), _lengths_mask([6, 4], 6)
    out = np.asarray(layer(x, sequence_mask=mask))
    kernel, bias = layer.hidden.kernel.numpy(), layer.hidden.bias.numpy()
    scores = np.tanh(x @ kernel + bias) @ layer.score.kernel.numpy()[:, 0]
    for row, length in enumerate([6, 4]):
        weights = _softmax(scores[row, :length])
        np.testing.assert_allclose(out[row], weights @ x[row, :length], atol=1e-5)


def test_masked_max_pooling_takes_the_maximum_of_real_positions_only() -> None:
    x = np.array([[[1.0, -5.0], [3.0, -4.0], [9.0, 9.0]]], "float32")
    out = np.asarray(MaskedMaxPooling()(x, sequence_mask=_lengths_mask([2], 3)))
    np.testing.assert_array_equal(out, [[3.0, -4.0]])


def test_broadcast_concat_repeats_vector_at_every_position() -> None:
    sequence, vector = _random(2, 3, 4), _random(2, 2)
    out = np.asarray(BroadcastConcat()(sequence, vector))
    assert out.shape == (2, 3, 6)
    np.testing.assert_array_equal(out[..., :4], sequence)
    np.testing.assert_array_equal(out[:, 1, 4:], vector)


def test_masked_tag_softmax_gives_exact_outside_tag_on_padding() -> None:
    logits, mask = _random(2, 4, 3) * 50, _lengths_mask([4, 1], 4)
    out = np.asarray(MaskedTagSoftmax()(logits, sequence_mask=mask))
    np.testing.assert_allclose(out[0], _softmax(logits[0]), atol=1e-6)
    np.testing.assert_array_equal(out[1, 1:], np.tile([1.0, 0.0, 0.0], (3, 1)))


def _layer_cases() -> list[tuple[keras.layers.Layer, Any]]:
    """(layer, function calling it on fixed inputs) for every layer with weights or masks."""
    seq, seq_mask = _random(2, 7, 4), _lengths_mask([7, 5], 7)
    query, query_mask = _random(2, 3, 4), _lengths_mask([3, 2], 3)
    return [
        (PositionEmbedding(9), lambda layer: layer(seq)),
        (
            GatedDilatedConv1D(6, kernel_size=5, dilation_rate=2, dropout=0.2),
            lambda layer: layer(seq, sequence_mask=seq_mask),
        ),
        (
            BiDAFAttention(),
            lambda layer: layer(seq, query, context_mask=seq_mask, query_mask=query_mask),
        ),
        (AttentionPooling(3), lambda layer: layer(seq, sequence_mask=seq_mask)),
        (MaskedMaxPooling(), lambda layer: layer(seq, sequence_mask=seq_mask)),
        (BroadcastConcat(), lambda layer: layer(seq, query[:, 0])),
        (MaskedTagSoftmax(), lambda layer: layer(seq, sequence_mask=seq_mask)),
        (SequenceMask(), lambda layer: layer(np.array([[3, 2, 0]], "int32"))),
        (PositionSoftmax(), lambda layer: layer(seq, sequence_mask=seq_mask)),
    ]


@pytest.mark.parametrize("case", range(len(_layer_cases())))
def test_config_round_trip_gives_identical_outputs(case: int) -> None:
    layer, call = _layer_cases()[case]
    expected = np.asarray(call(layer))
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()
    call(clone)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(np.asarray(call(clone)), expected)


def test_sequence_layers_ignore_appended_padding() -> None:
    x, mask = _random(2, 6, 4), _lengths_mask([6, 3], 6)
    query, query_mask = _random(2, 4, 4), _lengths_mask([4, 2], 4)
    conv = GatedDilatedConv1D(4, dilation_rate=4)
    pooling = AttentionPooling(4)
    peak = MaskedMaxPooling()
    bidaf = BiDAFAttention()
    tags = MaskedTagSoftmax()

    def run(x: np.ndarray, mask: np.ndarray, query: np.ndarray, query_mask: np.ndarray) -> list:
        encoded = conv(x, sequence_mask=mask)
        return [
            np.asarray(encoded),
            np.asarray(pooling(encoded, sequence_mask=mask)),
            np.asarray(peak(encoded, sequence_mask=mask)),
            np.asarray(bidaf(encoded, query, context_mask=mask, query_mask=query_mask)),
            np.asarray(tags(encoded[..., :3], sequence_mask=mask)),
        ]

    short = run(x, mask, query, query_mask)
    long = run(_pad(x, 5), _pad_mask(mask, 5), _pad(query, 3), _pad_mask(query_mask, 3))
    for short_out, long_out in zip(short, long, strict=True):
        if short_out.ndim == 2:  # pooled: one vector per example
            np.testing.assert_allclose(long_out, short_out, atol=1e-5)
        else:
            np.testing.assert_allclose(long_out[:, :6], short_out, atol=1e-5)
