"""Every span answer of the real shared data survives encode -> BIO tags -> decode exactly.

The one exception is structural and checked as such: an answer longer than the windows'
overlap may lie wholly inside no window, and then no window can tag it.
"""

from __future__ import annotations

import numpy as np
import pytest

from contract.config import ContractConfig
from contract.decode import WindowOutputs, decode
from contract.encode import Encoder, answer_positions, window_tags
from contract.examples import AnswerType
from model.dataset import encode_examples
from model.readers import read_examples

FILES = ["cjrc/train.json", "cjrc/dev.json", "wiki/train.json", "wiki/dev.json"]
SPAN_TYPE = np.array([1.0, 0.0, 0.0, 0.0])


@pytest.mark.shared_data
@pytest.mark.parametrize("name", FILES)
def test_every_span_answer_round_trips(shared_data, name: str) -> None:
    config = ContractConfig()
    examples = [e for e in read_examples(shared_data / name) if e.answer_type is AnswerType.SPAN]
    failures, unholdable = [], 0
    for example, encoded in zip(examples, encode_examples(examples, Encoder(config)), strict=True):
        spans = answer_positions(encoded.passage, example.answers)
        holdable = [
            (first, last)
            for first, last in spans
            if any(w.first <= first and last <= w.first + len(w.chars) for w in encoded.windows)
        ]
        unholdable += len(spans) - len(holdable)
        bio = [np.eye(3)[window_tags(w, spans)] for w in encoded.windows]
        prediction = decode(
            encoded, WindowOutputs(bio, [SPAN_TYPE] * len(bio)), top_k=10, min_score=0.5
        )
        found = sorted((a.start, a.end) for a in prediction.answers)
        expected = sorted(encoded.passage.original_span(*span) for span in holdable)
        texts_ok = all(example.passage[a.start : a.end] == a.text for a in prediction.answers)
        if found != expected or not texts_ok:
            failures.append((example.id, expected, found))
    assert len(examples) > 600
    assert failures == [], f"{len(failures)} of {len(examples)} answers did not round-trip"
    assert unholdable <= 1  # one 422-character answer in each of cjrc/train and wiki/dev
    print(f"{name}: {len(examples)} span questions, {unholdable} answers longer than any window")
