"""Builds the functional Keras model: mixed embeddings -> DGCNN -> BiDAF -> DGCNN -> heads.

See docs/MODEL.md for the diagram, the input/output contract and the masking rules.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np

from contract.tensors import BOUNDARY_PROBS
from model.config import ModelConfig
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
)

logger = logging.getLogger(__name__)

WORD_EMBEDDING_LAYER = "word_embedding"
"""Name of the Embedding whose [word_vocab_size, word_dim] matrix holds the word2vec vectors."""

NETWORK_NAME = "rcqa_dgcnn_bidaf"

NUM_BIO_TAGS = 3
NUM_ANSWER_TYPES = 4


def _dgcnn_stack(
    x: Any, mask: Any, rates: tuple[int, ...], config: ModelConfig, prefix: str
) -> Any:
    """One residual gated block per dilation rate, all ``hidden_dim`` wide."""
    for index, rate in enumerate(rates):
        x = GatedDilatedConv1D(
            config.hidden_dim,
            kernel_size=config.kernel_size,
            dilation_rate=rate,
            dropout=config.dropout,
            name=f"{prefix}_block_{index}",
        )(x, sequence_mask=mask)
    return x


def network_inputs() -> dict[str, Any]:
    """The network's named inputs: id sequences of any length and the match features."""
    ids = ("passage_char_ids", "passage_word_ids", "question_char_ids", "question_word_ids")
    inputs = {name: keras.Input((None,), dtype="int32", name=name) for name in ids}
    inputs["passage_match"] = keras.Input((None, 2), dtype="float32", name="passage_match")
    return inputs


def build_model(config: ModelConfig, name: str = NETWORK_NAME) -> keras.Model:
    """The network with named dict inputs and dict outputs (``bio_probs``, ``answer_type_probs``,
    and ``boundary_probs`` with ``config.boundary_head``); ``name`` tells ensemble members apart.

    Lengths are dynamic; a passage may be at most ``max_passage_len`` characters and a
    question at most ``max_question_len``.
    """
    inputs = network_inputs()
    passage_char_ids, passage_word_ids = inputs["passage_char_ids"], inputs["passage_word_ids"]
    question_char_ids, question_word_ids = inputs["question_char_ids"], inputs["question_word_ids"]
    passage_match = inputs["passage_match"]

    passage_mask = SequenceMask(name="passage_mask")(passage_char_ids)
    question_mask = SequenceMask(name="question_mask")(question_char_ids)

    char_embedding = keras.layers.Embedding(
        config.char_vocab_size, config.char_dim, name="char_embedding"
    )
    word_embedding = keras.layers.Embedding(
        config.word_vocab_size,
        config.word_dim,
        trainable=config.word_trainable,
        name=WORD_EMBEDDING_LAYER,
    )
    word_projection = keras.layers.Dense(config.char_dim, use_bias=False, name="word_projection")
    embedding_dropout = keras.layers.Dropout(config.dropout, name="embedding_dropout")

    passage_parts = [
        char_embedding(passage_char_ids),
        word_projection(word_embedding(passage_word_ids)),
    ]
    if config.question_match:
        passage_parts.append(
            keras.layers.Dense(config.char_dim, name="passage_match_projection")(passage_match)
        )
    passage = keras.layers.Add(name="passage_mixed_embedding")(passage_parts)
    passage = PositionEmbedding(config.max_passage_len, name="passage_position")(passage)
    question = keras.layers.Add(name="question_mixed_embedding")(
        [char_embedding(question_char_ids), word_projection(word_embedding(question_word_ids))]
    )
    question = PositionEmbedding(config.max_question_len, name="question_position")(question)

    passage = _dgcnn_stack(
        embedding_dropout(passage), passage_mask, config.passage_dilations, config, "passage"
    )
    question = _dgcnn_stack(
        embedding_dropout(question), question_mask, config.question_dilations, config, "question"
    )
    if config.question_pooling == "max":
        question_pooling = MaskedMaxPooling(name="question_pooling")
    else:
        question_pooling = AttentionPooling(config.hidden_dim, name="question_pooling")
    question_vector = question_pooling(question, sequence_mask=question_mask)

    fused = BiDAFAttention(name="bidaf")(
        passage, question, context_mask=passage_mask, query_mask=question_mask
    )
    if config.condition_on_question:
        fused = BroadcastConcat(name="question_conditioning")(fused, question_vector)
    fused = keras.layers.Dense(config.hidden_dim, name="attention_fusion")(fused)
    modeled = _dgcnn_stack(fused, passage_mask, config.modeling_dilations, config, "modeling")

    bio_logits = keras.layers.Dense(NUM_BIO_TAGS, dtype="float32", name="bio_logits")(modeled)
    bio_probs = MaskedTagSoftmax(dtype="float32", name="bio_probs")(
        bio_logits, sequence_mask=passage_mask
    )

    passage_vector = AttentionPooling(config.hidden_dim, name="passage_pooling")(
        modeled, sequence_mask=passage_mask
    )
    passage_peak = MaskedMaxPooling(name="passage_max_pooling")(modeled, sequence_mask=passage_mask)
    summary = keras.layers.Concatenate(name="type_features")(
        [passage_vector, passage_peak, question_vector]
    )
    summary = keras.layers.Dense(config.hidden_dim, activation="relu", name="type_hidden")(summary)
    answer_type_probs = keras.layers.Dense(
        NUM_ANSWER_TYPES, activation="softmax", dtype="float32", name="answer_type_probs"
    )(summary)

    outputs = {"bio_probs": bio_probs, "answer_type_probs": answer_type_probs}
    if config.boundary_head:
        boundary_logits = keras.layers.Dense(2, dtype="float32", name="boundary_logits")(modeled)
        outputs[BOUNDARY_PROBS] = PositionSoftmax(dtype="float32", name=BOUNDARY_PROBS)(
            boundary_logits, sequence_mask=passage_mask
        )
    model = keras.Model(inputs=inputs, outputs=outputs, name=name)
    logger.info(
        "built %s: %d parameters (%d trainable)",
        model.name,
        model.count_params(),
        sum(int(np.prod(w.shape)) for w in model.trainable_weights),
    )
    return model


def set_word_vectors(model: keras.Model, matrix: np.ndarray) -> None:
    """Loads pre-trained word vectors (row i = word id i) into the word embedding."""
    layer = model.get_layer(WORD_EMBEDDING_LAYER)
    expected = tuple(layer.embeddings.shape)
    if tuple(matrix.shape) != expected:
        raise ValueError(
            f"word vector matrix has shape {tuple(matrix.shape)}, the model expects {expected} "
            "(word_vocab_size, word_dim)"
        )
    layer.embeddings.assign(np.asarray(matrix, dtype=layer.embeddings.dtype))
    logger.info("loaded %d word vectors of size %d", expected[0], expected[1])
