"""The training step: its learning-rate schedule and the losses it needs outputs for."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from model.network import build_model
from model.trainer import StepSettings, Trainer
from tests.test_network import TINY


def learning_rate_after(trainer: Trainer, updates: int) -> float:
    trainer.optimizer.iterations.assign(updates)
    return float(trainer.optimizer.learning_rate)


def test_constant_rate_by_default() -> None:
    trainer = Trainer(build_model(TINY), StepSettings(learning_rate=0.01), seed=0)
    assert learning_rate_after(trainer, 0) == pytest.approx(0.01)
    assert learning_rate_after(trainer, 1000) == pytest.approx(0.01)


def test_cosine_decays_to_five_percent_over_decay_steps() -> None:
    trainer = Trainer(build_model(TINY), StepSettings(learning_rate=0.01, decay_steps=100), seed=0)
    assert learning_rate_after(trainer, 0) == pytest.approx(0.01)
    half = 0.01 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert learning_rate_after(trainer, 50) == pytest.approx(half)
    assert learning_rate_after(trainer, 100) == pytest.approx(0.0005)
    assert learning_rate_after(trainer, 500) == pytest.approx(0.0005)


def test_a_boundary_loss_weight_needs_the_boundary_head() -> None:
    with pytest.raises(ValueError, match="needs a model with the boundary head"):
        Trainer(build_model(TINY), StepSettings(boundary_weight=1.0), seed=0)
    Trainer(build_model(replace(TINY, boundary_head=True)), StepSettings(boundary_weight=1.0), 0)
