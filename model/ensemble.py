"""Ensembles: several trained networks whose outputs are averaged, kept as one run directory.

Averaging the BIO, boundary and answer-type probabilities of networks trained apart (another
seed, other settings) smooths their independent mistakes. The members must read text the same
way: the same windows, vocabularies and jieba dictionary, which holds for runs trained on the
same data. The average is one Keras model, so dev scoring, prediction and export take an
ensemble directory wherever they take a run; serving costs one forward pass per member.

    python -m model.ensemble --run RUN --run RUN [--run RUN ...] --out DIR [--dev FILE ...]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras

from contract.config import ContractConfig
from contract.encode import Encoder
from contract.words import WordSegmenter
from model.dataset import encode_examples
from model.evaluate import answer_type_summary
from model.network import build_model, network_inputs
from model.run_dir import (
    BEST_WEIGHTS,
    CHARS,
    SUMMARY,
    WORDS,
    RunConfig,
    load_vocabularies,
    write_json,
)
from model.threshold import score_dev, threshold_grid

log = logging.getLogger(__name__)


class EnsembleError(ValueError):
    """The runs cannot form an ensemble; the message says why."""


def average_networks(networks: Sequence[keras.Model]) -> keras.Model:
    """One model whose every output is the mean of the networks' outputs of that name."""
    inputs = network_inputs()
    outputs = [network(inputs) for network in networks]
    names = set(outputs[0])
    if any(set(out) != names for out in outputs):
        raise EnsembleError(
            "ensemble members must have the same outputs (all or none with a boundary head)"
        )
    averaged = {
        name: keras.layers.Average(name=name)([out[name] for out in outputs]) for name in outputs[0]
    }
    return keras.Model(inputs=inputs, outputs=averaged, name="ensemble")


def member_name(index: int) -> str:
    return f"member_{index}"


def build_network(run_config: RunConfig) -> keras.Model:
    """The run's network, or an ensemble's averaged members, with untrained weights."""
    if not run_config.members:
        return build_model(run_config.model)
    return average_networks(
        [build_model(config, member_name(i)) for i, config in enumerate(run_config.members)]
    )


def load_network(run_dir: Path) -> keras.Model:
    """The network of a run or ensemble directory with its best weights."""
    network = build_network(RunConfig.load(run_dir))
    weights = run_dir / BEST_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{run_dir} has no {BEST_WEIGHTS}: train at least one epoch first")
    network.load_weights(weights)
    return network


def _reading(config: RunConfig) -> tuple[ContractConfig, Any]:
    """What decides how a run turns text into ids, thresholds aside."""
    contract = replace(config.contract, min_score=0.5, fallback_min_score=None)
    return contract, config.training.get("user_dict")


def _tokens(run: Path) -> tuple[tuple[str, ...], ...]:
    return tuple(vocabulary.tokens for vocabulary in load_vocabularies(run))


def check_members(runs: Sequence[Path]) -> list[RunConfig]:
    """The runs' configs, once every run is a single trained network that reads text like the
    first."""
    if len(runs) < 2:
        raise EnsembleError(f"an ensemble needs at least two runs, got {len(runs)}")
    configs = [RunConfig.load(run) for run in runs]
    first_vocabularies = _tokens(runs[0])
    for run, config in zip(runs, configs, strict=True):
        if config.members:
            raise EnsembleError(f"{run} is itself an ensemble; list its members instead")
        if not (run / BEST_WEIGHTS).is_file():
            raise EnsembleError(f"{run} has no {BEST_WEIGHTS}: train at least one epoch first")
        if _reading(config) != _reading(configs[0]):
            raise EnsembleError(
                f"{run} reads text differently from {runs[0]} (windows, question length or "
                "jieba dictionary); members must be trained with the same contract"
            )
        if _tokens(run) != first_vocabularies:
            raise EnsembleError(
                f"{run} has other vocabularies than {runs[0]}; members must be trained on the "
                "same data with the same --max-chars, --max-words and --vector-words"
            )
    return configs


def make_ensemble(
    runs: Sequence[Path],
    out: Path,
    dev_files: Sequence[str] = (),
    metric: str = "cmrc",
) -> dict[str, Any]:
    """Writes the ensemble of ``runs`` to ``out`` and returns its summary. With dev files, the
    decoder thresholds are chosen on them for the averaged outputs (as training chooses a
    run's); without, the first run's are kept."""
    from model.predict import KerasPredictor
    from model.train import load_dev_data

    configs = check_members(runs)
    members = tuple(config.model for config in configs)
    network = average_networks([build_model(m, member_name(i)) for i, m in enumerate(members)])
    for index, run in enumerate(runs):
        network.get_layer(member_name(index)).load_weights(run / BEST_WEIGHTS)
    contract = configs[0].contract
    summary: dict[str, Any] = {
        "members": [str(run) for run in runs],
        "parameters": network.count_params(),
    }
    if dev_files:
        examples = load_dev_data(list(dev_files), None)
        segmenter = WordSegmenter.from_file(configs[0].training.get("user_dict"))
        encoded = encode_examples(examples, Encoder(contract, segmenter), "encoding dev")
        predictor = KerasPredictor(network, contract, *load_vocabularies(runs[0]))
        choice = score_dev(
            examples,
            encoded,
            predictor.outputs(encoded),
            top_k=contract.top_k,
            metric=metric,
            thresholds=threshold_grid(),
        )
        contract = replace(
            contract, min_score=choice.min_score, fallback_min_score=choice.fallback_min_score
        )
        summary |= {
            "dev_files": list(dev_files),
            "dev_questions": len(examples),
            "metric": metric,
            "best": {
                "em": choice.scores["em"],
                "f1": choice.scores["f1"],
                "min_score": choice.min_score,
                "fallback_min_score": choice.fallback_min_score,
            },
        }
        log.info(
            "ensemble dev EM %.2f F1 %.2f at min_score %.2f; by gold answer type: %s",
            choice.scores["em"],
            choice.scores["f1"],
            choice.min_score,
            answer_type_summary(choice.scores),
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in (CHARS, WORDS):
        shutil.copyfile(runs[0] / name, out / name)
    network.save_weights(out / BEST_WEIGHTS)
    training = {"ensemble_of": [str(run) for run in runs], "user_dict": _reading(configs[0])[1]}
    RunConfig(members[0], contract, training, members).save(out)
    write_json(out / SUMMARY, summary)
    return summary


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m model.ensemble",
        description="Average the outputs of trained runs; the result is a run directory.",
    )
    p.add_argument("--run", type=Path, action="append", required=True, help="a member run")
    p.add_argument("--out", type=Path, required=True, help="the ensemble's directory")
    p.add_argument(
        "--dev", action="append", default=[], help="choose the thresholds on these files"
    )
    p.add_argument("--metric", choices=("cmrc", "cjrc"), default="cmrc")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    from model.readers import ReaderError  # the training stack loads only when needed
    from model.train import TrainingError

    try:
        summary = make_ensemble(args.run, args.out, args.dev, args.metric)
    except (EnsembleError, TrainingError, ReaderError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    best = summary.get("best")
    scores = f", dev EM {best['em']:.2f} F1 {best['f1']:.2f}" if best else ""
    print(f"ensemble of {len(args.run)} runs in {args.out}{scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
