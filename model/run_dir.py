"""The files a training run leaves in its output directory, read back by export and tools.

Layout: config.json (model, contract and training settings), chars.txt and words.txt
(vocabularies), best.weights.h5 (the best dev checkpoint, EMA weights when EMA is on),
history.json, summary.json, curves.png, and resume/ (the last epoch's full state).

An ensemble directory (``python -m model.ensemble``) has the same config.json, vocabularies,
best.weights.h5 and summary.json; its config lists every member network in ``members``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.config import ContractConfig
from contract.vocab import Vocabulary
from model.config import ModelConfig

CONFIG = "config.json"
CHARS = "chars.txt"
WORDS = "words.txt"
BEST_WEIGHTS = "best.weights.h5"
HISTORY = "history.json"
SUMMARY = "summary.json"
CURVES = "curves.png"
RESUME = "resume"


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig
    """The network; in an ensemble, its first member."""
    contract: ContractConfig
    training: dict[str, Any]
    members: tuple[ModelConfig, ...] = ()
    """An ensemble's networks, whose outputs are averaged; empty for a single network."""

    @property
    def networks(self) -> tuple[ModelConfig, ...]:
        return self.members or (self.model,)

    def save(self, run_dir: Path) -> None:
        data: dict[str, Any] = {
            "model": self.model.to_dict(),
            "contract": self.contract.to_dict(),
            "training": self.training,
        }
        if self.members:
            data["members"] = [member.to_dict() for member in self.members]
        write_json(run_dir / CONFIG, data)

    @classmethod
    def load(cls, run_dir: Path) -> RunConfig:
        path = run_dir / CONFIG
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} is not a training run: {CONFIG} is missing")
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            ModelConfig.from_dict(data["model"]),
            ContractConfig.from_dict(data["contract"]),
            data["training"],
            tuple(ModelConfig.from_dict(member) for member in data.get("members", ())),
        )


def load_vocabularies(run_dir: Path) -> tuple[Vocabulary, Vocabulary]:
    return Vocabulary.load(run_dir / CHARS), Vocabulary.load(run_dir / WORDS)


def write_json(path: Path, data: Any) -> None:
    """Write to a temporary name then rename, so a crash never leaves half a file."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
