"""Custom Keras layers of the reading-comprehension network.

Masks are explicit float tensors ([B, L], 1.0 on real positions, 0.0 on padding) passed as
arguments. They are deliberately not named ``mask``: Keras treats an argument of that name as
its implicit boolean mask, attaches it to the outputs and warns in layers that cannot
propagate it, while ``Embedding(mask_zero=True)`` masks are dropped by ``Conv1D``.
Every layer keeps padded positions from influencing real ones, so appending padding to a
batch changes no real-position output.
"""

from __future__ import annotations

from typing import Any

import keras
import ml_dtypes
import tensorflow as tf
from keras import ops

_PACKAGE = "rcqa"


def padding_mask(ids: Any, dtype: str = "float32") -> Any:
    """Float mask of real positions: 1.0 where ``ids != 0`` (0 is the padding id)."""
    return ops.cast(ops.not_equal(ids, 0), dtype)


def lowest_value(dtype: Any) -> float:
    """Most negative finite value of ``dtype``: a mask fill that cannot overflow (float16 too)."""
    return float(ml_dtypes.finfo(keras.backend.standardize_dtype(dtype)).min)


def fill_padding(scores: Any, mask: Any) -> Any:
    """``scores`` with padded entries (``mask`` 0, broadcast) set to the dtype's lowest value."""
    return ops.where(mask > 0, scores, ops.cast(lowest_value(scores.dtype), scores.dtype))


def masked_softmax(scores: Any, mask: Any, axis: int = -1) -> Any:
    """Softmax over ``axis`` that gives padded entries exactly zero weight.

    ``mask`` must broadcast against ``scores``. A slice with no real entry gets uniform
    weights instead of NaN (its result is masked downstream).
    """
    return ops.softmax(fill_padding(scores, mask), axis=axis)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SequenceMask(keras.layers.Layer):
    """Turns id tensors [B, L] into the float padding mask [B, L] fed to every block."""

    def call(self, ids: Any) -> Any:
        return padding_mask(ids, self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each position (0 .. max_length-1) to a sequence [B, L, D].

    Longer sequences are an error: on CPU the gather fails with an opaque message and on GPU
    it silently yields zeros, so the length is checked statically when known and by an
    assertion in the graph otherwise.
    """

    def __init__(self, max_length: int, initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_length < 1:
            raise ValueError(f"PositionEmbedding max_length must be positive, got {max_length}")
        self.max_length = max_length
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape: tuple) -> None:
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs: Any) -> Any:
        static_length = inputs.shape[1]
        if static_length is not None and static_length > self.max_length:
            raise ValueError(
                f"{self.name}: sequence length {static_length} exceeds the position table "
                f"size {self.max_length}"
            )
        length = ops.shape(inputs)[1]
        if static_length is None:
            checked = tf.debugging.assert_less_equal(
                length,
                self.max_length,
                message=f"{self.name}: sequence length exceeds the position table size "
                f"{self.max_length}",
            )
            # the add must wait for the check, or in a graph it may fail first with
            # "Incompatible shapes" instead of this message
            with tf.control_dependencies([checked]):
                length = tf.identity(length)
        return inputs + ops.cast(self.embeddings[:length], inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "initializer": keras.initializers.serialize(self.initializer),
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GatedDilatedConv1D(keras.layers.Layer):
    """Residual dilated gated convolution block (DGCNN, after Su Jianlin).

    One Conv1D produces ``2 * filters`` channels, split into a value ``v`` and a gate logit;
    ``g = sigmoid(gate)`` and ``output = x * (1 - g) + v * g``, where ``x`` is the input, or
    its bias-free projection when its width differs from ``filters``. Dropout acts on the
    gate logits during training. The input is masked before the convolution (so padding reads
    as zeros, exactly like the convolution's own "same" padding) and the output after it.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        dilation_rate: int = 1,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.dropout = dropout
        self.conv = keras.layers.Conv1D(
            2 * filters,
            kernel_size,
            dilation_rate=dilation_rate,
            padding="same",
            dtype=self.dtype_policy,
            name="conv",
        )
        self.gate_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.projection: keras.layers.Dense | None = None

    def build(self, input_shape: tuple) -> None:
        self.conv.build(input_shape)
        if input_shape[-1] != self.filters:
            self.projection = keras.layers.Dense(
                self.filters, use_bias=False, dtype=self.dtype_policy, name="projection"
            )
            self.projection.build(input_shape)

    def call(self, inputs: Any, sequence_mask: Any, training: bool | None = None) -> Any:
        mask = ops.expand_dims(ops.cast(sequence_mask, inputs.dtype), -1)
        inputs = inputs * mask
        value, gate = ops.split(self.conv(inputs), 2, axis=-1)
        gate = ops.sigmoid(self.gate_dropout(gate, training=training))
        residual = inputs if self.projection is None else self.projection(inputs)
        return (residual * (1.0 - gate) + value * gate) * mask

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BiDAFAttention(keras.layers.Layer):
    """Bidirectional attention flow between a context [B, P, D] and a query [B, Q, D].

    Trilinear similarity ``S_ij = w . [c_i; q_j; c_i * q_j]`` is computed as
    ``c.w_c + q.w_q + (c * w_cq) q^T`` so the [B, P, Q, 3D] tensor is never built (a bias
    would cancel in both softmaxes, so there is none). Context-to-query attention is a masked
    softmax over the query; query-to-context attends over the context with
    ``softmax_i(max_j S_ij)``. Output [B, P, 4D] = ``[c; c2q; c * c2q; c * q2c]``, zero on
    padded context positions.
    """

    def __init__(self, initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, context_shape: tuple, query_shape: tuple) -> None:
        if context_shape[-1] != query_shape[-1]:
            raise ValueError(
                f"{self.name}: context and query widths differ "
                f"({context_shape[-1]} vs {query_shape[-1]})"
            )
        self.similarity_kernel = self.add_weight(
            name="similarity_kernel",
            shape=(3 * context_shape[-1],),
            initializer=self.initializer,
        )

    def similarity(self, context: Any, query: Any) -> Any:
        """Trilinear similarity [B, P, Q] (unmasked)."""
        w_context, w_query, w_product = ops.split(
            ops.cast(self.similarity_kernel, context.dtype), 3
        )
        context_term = ops.expand_dims(ops.matmul(context, w_context[:, None])[..., 0], 2)
        query_term = ops.expand_dims(ops.matmul(query, w_query[:, None])[..., 0], 1)
        product_term = ops.matmul(context * w_product, ops.transpose(query, (0, 2, 1)))
        return context_term + query_term + product_term

    def call(self, context: Any, query: Any, context_mask: Any, query_mask: Any) -> Any:
        context_mask = ops.cast(context_mask, context.dtype)
        query_mask = ops.cast(query_mask, context.dtype)
        scores = fill_padding(self.similarity(context, query), ops.expand_dims(query_mask, 1))
        context_to_query = ops.matmul(ops.softmax(scores, axis=-1), query)
        context_weights = masked_softmax(ops.max(scores, axis=-1), context_mask, axis=-1)
        query_to_context = ops.matmul(ops.expand_dims(context_weights, 1), context)
        fused = ops.concatenate(
            [context, context_to_query, context * context_to_query, context * query_to_context],
            axis=-1,
        )
        return fused * ops.expand_dims(context_mask, -1)

    def compute_output_shape(self, context_shape: tuple, query_shape: tuple) -> tuple:
        width = None if context_shape[-1] is None else 4 * context_shape[-1]
        return (*context_shape[:-1], width)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initializer": keras.initializers.serialize(self.initializer),
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AttentionPooling(keras.layers.Layer):
    """Masked additive attention pooling of a sequence [B, L, D] to one vector [B, D].

    Scores are ``u . tanh(W x_i + b)``; padded positions get zero weight.
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(
            units, activation="tanh", dtype=self.dtype_policy, name="hidden"
        )
        self.score = keras.layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="score")

    def build(self, input_shape: tuple) -> None:
        self.hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))

    def call(self, inputs: Any, sequence_mask: Any) -> Any:
        scores = self.score(self.hidden(inputs))[..., 0]
        weights = masked_softmax(scores, ops.cast(sequence_mask, scores.dtype), axis=-1)
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MaskedMaxPooling(keras.layers.Layer):
    """Per-feature maximum over the real positions of a sequence [B, L, D] -> [B, D].

    Lets a classifier see the strongest local evidence anywhere in the passage, which an
    attention average dilutes; padded positions never win.
    """

    def call(self, inputs: Any, sequence_mask: Any) -> Any:
        mask = ops.expand_dims(ops.cast(sequence_mask, inputs.dtype), -1)
        return ops.max(fill_padding(inputs, mask), axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BroadcastConcat(keras.layers.Layer):
    """Concatenates one vector per example [B, E] to every position of a sequence [B, L, D]."""

    def call(self, sequence: Any, vector: Any) -> Any:
        batch, length = ops.shape(sequence)[0], ops.shape(sequence)[1]
        tiled = ops.broadcast_to(
            ops.expand_dims(ops.cast(vector, sequence.dtype), 1), (batch, length, vector.shape[-1])
        )
        return ops.concatenate([sequence, tiled], axis=-1)

    def compute_output_shape(self, sequence_shape: tuple, vector_shape: tuple) -> tuple:
        return (*sequence_shape[:-1], sequence_shape[-1] + vector_shape[-1])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MaskedTagSoftmax(keras.layers.Layer):
    """Softmax over tag logits [B, L, T] that outputs exactly one-hot tag 0 on padding.

    Tag 0 is the "outside" tag, so a padded position reads as "no answer here" without
    the caller having to mask the probabilities again.
    """

    def call(self, logits: Any, sequence_mask: Any) -> Any:
        probs = ops.softmax(logits, axis=-1)
        num_tags = logits.shape[-1]
        padding_tag = ops.cast(ops.equal(ops.arange(num_tags), 0), probs.dtype)
        return ops.where(ops.expand_dims(sequence_mask, -1) > 0, probs, padding_tag)

    def compute_output_shape(self, logits_shape: tuple, sequence_mask_shape: tuple) -> tuple:
        return tuple(logits_shape)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PositionSoftmax(keras.layers.Layer):
    """Softmax over the real positions of each channel of logits [B, L, C]: one distribution
    over the sequence per channel (e.g. where an answer starts, where it ends); padding gets 0.
    """

    def call(self, logits: Any, sequence_mask: Any) -> Any:
        mask = ops.expand_dims(ops.cast(sequence_mask, logits.dtype), -1)
        return masked_softmax(logits, mask, axis=1) * mask

    def compute_output_shape(self, logits_shape: tuple, sequence_mask_shape: tuple) -> tuple:
        return tuple(logits_shape)
