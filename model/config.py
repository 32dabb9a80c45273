"""Hyper-parameters of the reading-comprehension network, kept TensorFlow-free.

The training run writes ``ModelConfig.to_dict()`` as config.json next to the weights, so that
export and evaluation rebuild exactly the same network with ``ModelConfig.from_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

_DILATION_FIELDS = ("passage_dilations", "question_dilations", "modeling_dilations")
QUESTION_POOLINGS = ("attention", "max")


@dataclass(frozen=True)
class ModelConfig:
    """Every size and switch of the network; defaults are sized for a 2-core CPU.

    ``passage_dilations`` / ``question_dilations`` / ``modeling_dilations`` give one dilated
    gated convolution block per entry (the entry is its dilation rate): the passage and
    question encoders before attention, and the modelling stack after it.
    ``question_match=False`` leaves the ``passage_match`` input unused (it stays in the
    signature, so the contract does not change) and ``question_pooling`` picks how the question
    is summarised for the answer-type head: both exist to measure what they contribute.
    ``boundary_head`` adds a start/end pointer head (``boundary_probs``) trained beside the BIO
    tags, which the decoder uses to place the ends of the spans the tags find.
    ``word_dim`` must equal the size of the word2vec vectors loaded into the word embedding.
    """

    char_vocab_size: int = 6000
    word_vocab_size: int = 50000
    char_dim: int = 128
    word_dim: int = 100
    hidden_dim: int = 128
    kernel_size: int = 3
    passage_dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 1)
    question_dilations: tuple[int, ...] = (1, 2, 1)
    modeling_dilations: tuple[int, ...] = (1, 2, 4, 1)
    dropout: float = 0.1
    word_trainable: bool = False
    condition_on_question: bool = False
    question_match: bool = True
    question_pooling: str = "attention"
    boundary_head: bool = False
    max_passage_len: int = 512
    max_question_len: int = 64

    def __post_init__(self) -> None:
        for name in (
            "char_vocab_size",
            "word_vocab_size",
            "char_dim",
            "word_dim",
            "hidden_dim",
            "kernel_size",
            "max_passage_len",
            "max_question_len",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive int, got {value!r}")
        for name in ("char_vocab_size", "word_vocab_size"):
            if getattr(self, name) < 2:
                raise ValueError(
                    f"ModelConfig.{name} must be at least 2 (ids 0 and 1 are padding and "
                    f"unknown), got {getattr(self, name)}"
                )
        for name in _DILATION_FIELDS:
            rates = getattr(self, name)
            if (
                not isinstance(rates, tuple)
                or not rates
                or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in rates)
            ):
                raise ValueError(
                    f"ModelConfig.{name} must be a non-empty tuple of positive ints, got {rates!r}"
                )
        if self.question_pooling not in QUESTION_POOLINGS:
            raise ValueError(
                f"ModelConfig.question_pooling must be one of {', '.join(QUESTION_POOLINGS)}, "
                f"got {self.question_pooling!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of ``to_dict``; missing keys take their defaults, unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {', '.join(unknown)}")
        values = {
            key: tuple(value) if key in _DILATION_FIELDS and isinstance(value, list) else value
            for key, value in data.items()
        }
        return cls(**values)
