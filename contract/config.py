"""Preprocessing and decoding settings that travel with every exported model version."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

CONTRACT_VERSION = 1
"""Bumped whenever the meaning of the model inputs or outputs changes."""


@dataclass(frozen=True)
class ContractConfig:
    """How text becomes model inputs and how model outputs become answers.

    ``window_len`` is also the size of the model's position table; ``window_stride`` is the
    step between window starts, so any answer of at most ``window_len - window_stride``
    characters lies wholly inside some window.
    """

    window_len: int = 512
    window_stride: int = 384
    max_question_len: int = 64
    passage_bucket: int = 64
    question_bucket: int = 16
    top_k: int = 5
    min_score: float = 0.5
    fallback_min_score: float | None = None
    """A span question with no span at ``min_score`` still gets its most probable span when
    that scores at least this; None: such a question is unanswerable (no fallback)."""
    contract_version: int = CONTRACT_VERSION

    def __post_init__(self) -> None:
        if self.window_len < 1 or self.max_question_len < 1:
            raise ValueError("window_len and max_question_len must be positive")
        if not 0 < self.window_stride <= self.window_len:
            raise ValueError(
                f"window_stride must be in (0, window_len={self.window_len}], "
                f"got {self.window_stride}"
            )
        if self.passage_bucket < 1 or self.question_bucket < 1:
            raise ValueError("passage_bucket and question_bucket must be positive")
        if self.top_k < 1 or not 0.0 <= self.min_score <= 1.0:
            raise ValueError("top_k must be >= 1 and min_score in [0, 1]")
        if self.fallback_min_score is not None and not 0.0 <= self.fallback_min_score <= 1.0:
            raise ValueError("fallback_min_score must be in [0, 1] or None")

    def thresholds(self, requested_min_score: float | None = None) -> tuple[float, float | None]:
        """``(min_score, fallback_min_score)`` to decode with: the pair tuned with the model,
        or a requested ``min_score`` as a strict cut (every answer must reach it)."""
        if requested_min_score is not None:
            return requested_min_score, None
        return self.min_score, self.fallback_min_score

    def to_dict(self) -> dict[str, int | float | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ContractConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown contract settings: {', '.join(unknown)}")
        if data.get("contract_version", CONTRACT_VERSION) != CONTRACT_VERSION:
            raise ValueError(
                f"contract version {data['contract_version']} is not supported "
                f"(this code speaks version {CONTRACT_VERSION})"
            )
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ContractConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
