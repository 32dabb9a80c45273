"""Training losses on the model's probability outputs, as plain functions for a custom step.

The BIO loss needs to know which positions are real: pass ``mask = padding_mask(
passage_char_ids)`` (from model.layers; 1.0 where the char id is not 0). Labels at padded
positions may hold anything (0 by convention); they are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from keras import ops

PROBABILITY_FLOOR = 1e-7
"""Probabilities are clipped to this before the log so a confident mistake costs ~16, not inf."""


def _true_class_probability(labels: Any, probs: Any) -> Any:
    """Probability the model gave each label's class (clipped away from 0)."""
    probs = ops.clip(ops.cast(probs, "float32"), PROBABILITY_FLOOR, 1.0)
    one_hot = ops.one_hot(ops.cast(labels, "int32"), probs.shape[-1], dtype="float32")
    return ops.sum(probs * one_hot, axis=-1)


def bio_loss(
    labels: Any, bio_probs: Any, mask: Any, focal_gamma: float = 0.0, span_weight: float = 1.0
) -> Any:
    """Mean tag cross-entropy over real passage positions.

    labels int [B, P] (O=0, B=1, I=2), bio_probs float [B, P, 3], mask float [B, P].
    With ``focal_gamma > 0`` each position is weighted by ``(1 - p_true) ** focal_gamma``
    (focal loss), which stops the many easy "O" positions from dominating. Positions inside
    an answer (B or I) count ``span_weight`` times: on real passages they are about 1% of all
    positions, too few to pull the model away from answering "O" everywhere early on.
    """
    if focal_gamma < 0:
        raise ValueError(f"focal_gamma must be >= 0, got {focal_gamma}")
    if span_weight <= 0:
        raise ValueError(f"span_weight must be > 0, got {span_weight}")
    p_true = _true_class_probability(labels, bio_probs)
    losses = -ops.log(p_true)
    if focal_gamma > 0:
        losses = losses * ops.power(1.0 - p_true, focal_gamma)
    mask = ops.cast(mask, "float32")
    weights = mask * ops.where(ops.cast(labels, "int32") > 0, span_weight, 1.0)
    return ops.sum(losses * weights) / ops.maximum(ops.sum(mask), 1.0)


def boundary_targets(labels: Any) -> tuple[Any, Any]:
    """Float [B, P] indicators of where answers start and end, read off BIO labels: a span
    starts at B (or at an I right after O, as the decoder reads it) and ends at its last B/I
    position."""
    labels = ops.cast(labels, "int32")
    inside = ops.cast(labels > 0, "float32")
    is_i = ops.cast(ops.equal(labels, 2), "float32")
    before = ops.pad(inside[:, :-1], [[0, 0], [1, 0]])
    after_i = ops.pad(is_i[:, 1:], [[0, 0], [0, 1]])
    starts = ops.cast(ops.equal(labels, 1), "float32") + is_i * (1.0 - before)
    ends = inside * (1.0 - after_i)
    return starts, ends


def boundary_loss(labels: Any, boundary_probs: Any) -> Any:
    """Pointer loss of the boundary head, over the windows that hold an answer.

    ``boundary_probs`` [B, P, 2] are distributions over positions (channel 0: start, 1: end);
    each is scored by the negative log of the probability it gives to all gold starts (ends)
    together, so a window with several answers is not penalised for splitting its mass.
    Windows without an answer add nothing: whether there is one is the tags' and the
    answer-type head's job.
    """
    starts, ends = boundary_targets(labels)
    probs = ops.cast(boundary_probs, "float32")
    gold_start = ops.sum(probs[..., 0] * starts, axis=-1)
    gold_end = ops.sum(probs[..., 1] * ends, axis=-1)
    has_answer = ops.cast(ops.sum(starts, axis=-1) > 0, "float32")
    losses = -ops.log(ops.clip(gold_start, PROBABILITY_FLOOR, 1.0)) - ops.log(
        ops.clip(gold_end, PROBABILITY_FLOOR, 1.0)
    )
    return ops.sum(losses * has_answer) / ops.maximum(ops.sum(has_answer), 1.0)


def answer_type_loss(
    labels: Any, answer_type_probs: Any, class_weights: Sequence[float] | None = None
) -> Any:
    """Mean cross-entropy of the answer type: labels int [B] (index into ANSWER_TYPES).

    ``class_weights[k]`` multiplies the loss of examples labelled ``k`` (see
    ``balanced_class_weights``); None weighs every class 1.
    """
    losses = -ops.log(_true_class_probability(labels, answer_type_probs))
    if class_weights is not None:
        weights = ops.convert_to_tensor(list(class_weights), dtype="float32")
        losses = losses * ops.take(weights, ops.cast(labels, "int32"))
    return ops.mean(losses)


def balanced_class_weights(labels: Sequence[int], num_classes: int) -> tuple[float, ...]:
    """Weights ``n / (k * n_c)`` for the ``k`` classes present among ``n`` labels (1.0 for absent
    ones), so that each class weighs the same in total and the mean weight per example is 1:
    rare answer types (CJRC has half as many "no" as "yes" answers) are not drowned out."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    present = int(np.count_nonzero(counts))
    return tuple(
        float(len(labels) / (present * count)) if count else 1.0 for count in counts.tolist()
    )
