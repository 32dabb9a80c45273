"""The web layer decodes each query with the served contract's thresholds or its own strict cut,
and refuses a predict answer that does not match the rows it sent."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest

from contract.config import ContractConfig
from contract.decode import WindowOutputs
from contract.encode import Encoder
from contract.served import ServedContract
from web.errors import BackendFailed
from web.extraction import decode_queries, predict_rows
from web.validation import Query
from web.versions import Deadline, ServedVersion

PASSAGE = "被告人张三，男。证人李四作证。"
SPAN_TYPE = np.array([0.97, 0.01, 0.01, 0.01])


def test_the_tuned_fallback_applies_unless_the_query_sets_min_score() -> None:
    config = ContractConfig(min_score=0.9, fallback_min_score=0.3)
    served = SimpleNamespace(contract=SimpleNamespace(config=config))
    queries = [Query("证人是谁？", PASSAGE), Query("证人是谁？", PASSAGE, min_score=0.3)]
    queries.append(Query("证人是谁？", PASSAGE, min_score=0.5))
    encoded = [Encoder(config).encode(q.question, q.passage) for q in queries]
    bio = np.tile([0.99, 0.005, 0.005], (len(PASSAGE), 1))
    witness = PASSAGE.index("李四")
    bio[witness], bio[witness + 1] = [0.3, 0.4, 0.3], [0.3, 0.3, 0.4]  # "李四" at score 0.4
    outputs = WindowOutputs([bio] * 3, [SPAN_TYPE] * 3)
    tuned, low_cut, high_cut = decode_queries(served, queries, encoded, outputs)
    assert [(a.text, a.start) for a in tuned.answers] == [("李四", witness)]
    assert [(a.text, a.start) for a in low_cut.answers] == [("李四", witness)]
    assert high_cut.answer_type.value == "none" and high_cut.answers == ()


class _WrongRowsBackend:
    """A model server whose predict answer holds one row fewer than was sent."""

    async def predict(self, inputs, version, signature, timeout, output_names=()):
        rows, length = inputs["passage_chars"].shape
        return {"bio_probs": np.zeros((rows, length, 3)), "answer_type_probs": np.zeros((0, 4))}


def test_a_predict_answer_with_missing_rows_is_a_backend_error() -> None:
    config = ContractConfig()
    served = ServedVersion("rc", 1, ServedContract(config, "rc"), Encoder(config))
    encoded = [Encoder(config).encode("证人是谁？", PASSAGE)]
    rows = predict_rows(_WrongRowsBackend(), served, encoded, 8, Deadline(5.0), lambda s: None)
    with pytest.raises(BackendFailed) as caught:
        asyncio.run(rows)
    assert caught.value.status == 502
    assert str(caught.value) == (
        "unexpected predict response: expected bio_probs and answer_type_probs for 1 rows, got "
        "{'bio_probs': [1, 64, 3], 'answer_type_probs': [0, 4]}"
    )
