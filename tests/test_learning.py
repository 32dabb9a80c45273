"""A small model trained for about two and a half minutes on generated records reaches EM >= 0.9.

The one test where the network, losses, training loop, threshold choice and decoder must all
work together for the score to come out. Longer runs are in docs/BENCHMARKS.md ("Training on
generated data").
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from contract.decode import scoring_answer
from contract.encode import Encoder
from contract.examples import AnswerType, QAExample
from contract.words import default_segmenter
from model.dataset import encode_examples
from model.evaluate import answer_text, cmrc_em, reference_texts
from model.predict import KerasPredictor
from model.readers import write_jsonl
from model.sample_data import generate_examples
from model.train import main
from scripts.demo import TRAIN_OPTIONS


def kind(example: QAExample) -> str:
    if example.answer_type is AnswerType.SPAN:
        return "multi" if len(example.answers) > 1 else "single"
    return "yes_no" if example.answer_type in (AnswerType.YES, AnswerType.NO) else "none"


def exact_match_by_kind(run: Path, dev: list[QAExample]) -> dict[str, float]:
    predictor = KerasPredictor.from_run(run)
    encoded = encode_examples(dev, Encoder(predictor.contract, default_segmenter()))
    predictions = predictor.predict(encoded)
    scores: dict[str, list[float]] = defaultdict(list)
    for example, prediction in zip(dev, predictions, strict=True):
        answer = answer_text(scoring_answer(prediction, multi_answer=True))
        scores[kind(example)].append(cmrc_em(answer, reference_texts(example)))
    overall = [score for values in scores.values() for score in values]
    return {"all": sum(overall) / len(overall)} | {
        name: sum(values) / len(values) for name, values in scores.items()
    }


@pytest.mark.timeout(900)
def test_demo_settings_learn_generated_records_in_four_epochs(tmp_path) -> None:
    train = write_jsonl(generate_examples(2000, 0, split="train"), tmp_path / "train.jsonl")
    dev_examples = generate_examples(200, 0, split="dev")
    dev = write_jsonl(dev_examples, tmp_path / "dev.jsonl")
    run = tmp_path / "run"
    options = [*TRAIN_OPTIONS, "--epochs", "4", "--patience", "4", "--seed", "0"]
    assert main(["--train", str(train), "--dev", str(dev), "--out", str(run), *options]) == 0

    em = exact_match_by_kind(run, dev_examples)
    assert set(em) == {"all", "single", "multi", "yes_no", "none"}
    # measured on a 2-core machine: 0.915 in all; multi 29/30, none 27/30, single 98/110,
    # yes/no 29/30 (the per-kind bounds leave room for other CPUs' floating-point results)
    assert em["all"] >= 0.9, em
    assert em["multi"] >= 0.85, em
    assert em["single"] >= 0.8, em
    assert em["none"] >= 0.8, em
    assert em["yes_no"] >= 0.8, em
