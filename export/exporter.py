"""A training run directory to a SavedModel version directory, checked before it is published."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from contract.served import ASSETS_EXTRA, CONTRACT_FILE, ServedContract
from export.serving_module import QAServingModule
from export.versions import next_version, publish_version
from export.warmup import WARMUP_FILE, warmup_requests, write_warmup_file
from model.ensemble import load_network
from model.run_dir import BEST_WEIGHTS, CHARS, SUMMARY, WORDS, RunConfig

log = logging.getLogger(__name__)


class ExportError(Exception):
    """The run cannot be exported; the message says why."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    version: int
    parameters: int
    warmup_records: int


def saved_parameter_count(saved_model_dir: Path) -> int:
    """Scalars stored in the SavedModel's variables (each weight must be stored once)."""
    checkpoint = str(saved_model_dir / "variables" / "variables")
    return sum(
        int(np.prod(shape))
        for name, shape in tf.train.list_variables(checkpoint)
        if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")
    )


def export_run(
    run_dir: Path, models_dir: Path, name: str, version: int | None = None
) -> ExportResult:
    run_config = RunConfig.load(run_dir)
    if not (run_dir / BEST_WEIGHTS).is_file():
        raise ExportError(f"{run_dir} has no {BEST_WEIGHTS}: train at least one epoch first")
    # A freshly built network with the trained weights carries no optimizer state.
    network = load_network(run_dir)
    user_dict_path = run_config.training.get("user_dict")
    user_dict = Path(user_dict_path).read_text(encoding="utf-8") if user_dict_path else ""
    summary_path = run_dir / SUMMARY
    training = _read_json(summary_path) if summary_path.is_file() else {}
    served = ServedContract(run_config.contract, name, user_dict, training)
    module = QAServingModule(network, run_dir / CHARS, run_dir / WORDS, served.to_json())
    encoder = served.encoder()

    base_path = models_dir / name
    version = version if version is not None else next_version(base_path)
    records = 0

    def write(target: Path) -> None:
        nonlocal records
        tf.saved_model.save(module, str(target), signatures=module.signatures())
        extra = target / ASSETS_EXTRA
        extra.mkdir()
        (extra / CONTRACT_FILE).write_text(served.to_json(), encoding="utf-8")
        records = write_warmup_file(
            extra / WARMUP_FILE, warmup_requests(encoder, name, "serving_default")
        )
        stored = saved_parameter_count(target)
        if stored != network.count_params():
            raise ExportError(
                f"the SavedModel stores {stored} weights, the network has "
                f"{network.count_params()}: weights were duplicated or lost"
            )

    path = publish_version(base_path, version, write)
    log.info("exported %s version %d to %s (%d warm-up requests)", name, version, path, records)
    return ExportResult(path, version, network.count_params(), records)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
