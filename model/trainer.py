"""The training loop: compiled train step, word dropout, EMA weights, and resumable state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from contract.tensors import BOUNDARY_PROBS
from contract.vocab import PAD_ID, UNKNOWN_ID
from model.dataset import Batch
from model.losses import answer_type_loss, bio_loss, boundary_loss
from model.run_dir import write_json


@dataclass(frozen=True)
class StepSettings:
    learning_rate: float = 1e-3
    bio_weight: float = 1.0
    focal_gamma: float = 0.0
    span_weight: float = 1.0
    word_dropout: float = 0.0
    ema_decay: float = 0.0
    clip_norm: float = 5.0
    decay_steps: int = 0
    """With ``decay_steps > 0`` the learning rate follows a cosine from ``learning_rate`` down
    to 5% of it over that many updates (then stays there); 0 keeps it constant."""
    type_class_weights: tuple[float, ...] | None = None
    """Weights of the answer-type loss per class, in ANSWER_TYPES order (None: all 1)."""
    boundary_weight: float = 0.0
    """Weight of the boundary head's pointer loss (the model must have the head when > 0)."""


class Trainer:
    """Owns the model's optimiser and EMA shadow weights; one compiled step per batch."""

    def __init__(self, model: keras.Model, settings: StepSettings, seed: int) -> None:
        if settings.boundary_weight > 0 and BOUNDARY_PROBS not in model.output:
            raise ValueError(
                "a boundary loss weight needs a model with the boundary head "
                "(ModelConfig.boundary_head)"
            )
        self.model = model
        self.settings = settings
        rate = settings.learning_rate
        if settings.decay_steps > 0:
            rate = keras.optimizers.schedules.CosineDecay(rate, settings.decay_steps, alpha=0.05)
        self.optimizer = keras.optimizers.Adam(rate, clipnorm=settings.clip_norm)
        self.optimizer.build(model.trainable_variables)
        self.ema = [tf.Variable(v, trainable=False) for v in model.trainable_variables]
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._seed = tf.random.Generator.from_seed(seed)
        self._step = tf.function(self._train_step, reduce_retracing=True)

    def _drop_words(self, ids: tf.Tensor) -> tf.Tensor:
        """Word-dropout augmentation: real ids become 'unknown' with the configured rate."""
        keep = self._seed.uniform(tf.shape(ids)) >= self.settings.word_dropout
        return tf.where(keep | (ids == PAD_ID), ids, tf.fill(tf.shape(ids), UNKNOWN_ID))

    def _train_step(self, inputs: dict, tags: tf.Tensor, types: tf.Tensor) -> dict:
        if self.settings.word_dropout > 0:
            inputs = dict(inputs)
            for name in ("passage_word_ids", "question_word_ids"):
                inputs[name] = self._drop_words(inputs[name])
        mask = tf.cast(inputs["passage_char_ids"] != PAD_ID, tf.float32)
        with tf.GradientTape() as tape:
            out = self.model(inputs, training=True)
            tag_loss = bio_loss(
                tags,
                out["bio_probs"],
                mask,
                self.settings.focal_gamma,
                self.settings.span_weight,
            )
            type_loss = answer_type_loss(
                types, out["answer_type_probs"], self.settings.type_class_weights
            )
            loss = self.settings.bio_weight * tag_loss + type_loss
            if self.settings.boundary_weight > 0:
                loss += self.settings.boundary_weight * boundary_loss(tags, out[BOUNDARY_PROBS])
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        self.updates.assign_add(1)
        if self.settings.ema_decay > 0:
            # Early on the average would be mostly the random initialisation; like
            # tf.train.ExponentialMovingAverage(num_updates=...), ramp the decay up.
            steps = tf.cast(self.updates, tf.float32)
            decay = tf.minimum(self.settings.ema_decay, (1.0 + steps) / (10.0 + steps))
            for shadow, variable in zip(self.ema, variables, strict=True):
                shadow.assign(decay * shadow + (1.0 - decay) * variable)
        return {"loss": loss, "bio_loss": tag_loss, "type_loss": type_loss}

    def step(self, batch: Batch) -> dict[str, float]:
        out = self._step(batch.inputs, batch.tags, batch.answer_types)
        return {k: float(v) for k, v in out.items()}

    def swap_ema(self) -> None:
        """Exchange live and EMA weights (call twice to undo); a no-op without EMA."""
        if self.settings.ema_decay <= 0:
            return
        for shadow, variable in zip(self.ema, self.model.trainable_variables, strict=True):
            live = variable.numpy()
            variable.assign(shadow)
            shadow.assign(live)

    def save_state(self, directory: Path, state: dict) -> None:
        """Everything needed to continue: weights, optimiser and EMA variables, loop state."""
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(directory / "model.weights.h5")
        arrays = {f"opt_{i}": v.numpy() for i, v in enumerate(self.optimizer.variables)}
        arrays |= {f"ema_{i}": v.numpy() for i, v in enumerate(self.ema)}
        arrays["updates"] = self.updates.numpy()
        np.savez(directory / "variables.npz", **arrays)
        write_json(directory / "state.json", state)

    def load_state(self, directory: Path) -> dict:
        self.model.load_weights(directory / "model.weights.h5")
        with np.load(directory / "variables.npz") as arrays:
            for i, variable in enumerate(self.optimizer.variables):
                variable.assign(arrays[f"opt_{i}"])
            for i, variable in enumerate(self.ema):
                variable.assign(arrays[f"ema_{i}"])
            self.updates.assign(arrays["updates"])
        return json.loads((directory / "state.json").read_text(encoding="utf-8"))
