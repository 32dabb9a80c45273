"""Training labels per window: BIO tags and answer types, yes/no evidence, every occurrence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.config import ContractConfig
from contract.encode import TAG_B, TAG_I, TAG_O, Encoder
from contract.examples import ANSWER_TYPES, AnswerSpan, AnswerType, QAExample
from model.dataset import encode_examples, evidence_windows, training_rows

# Two windows of 40 characters starting 30 apart: [0, 40) and [30, 70).
CONFIG = ContractConfig(window_len=40, window_stride=30, max_question_len=16)
FILLER = "本院经审理查明的事实如下所述各方当事人均到庭参加诉讼本案现已审理终结。"  # 35 chars
EVIDENCE = "张三到案后如实供述了自己的罪行。"  # 16 chars
PASSAGE = "被告人张三，男，汉族。" + FILLER + "另查明，" + EVIDENCE  # 11 + 35 + 4 + 16 = 66
QUESTION = "张三到案后是否如实供述？"


def example(answer_type: AnswerType, answers: tuple[AnswerSpan, ...] = ()) -> QAExample:
    references = ((answer_type.name,),) if answer_type in (AnswerType.YES, AnswerType.NO) else ()
    return QAExample(
        id="q", question=QUESTION, passage=PASSAGE, answers=answers,
        answer_type=answer_type, references=references or (("",),),
    )  # fmt: skip


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(CONFIG)


def rows_of(encoder: Encoder, examples: list[QAExample], **options: bool) -> list:
    return training_rows(examples, encode_examples(examples, encoder), **options)


def test_the_window_sharing_most_question_words_holds_the_evidence(encoder) -> None:
    (encoded,) = encode_examples([example(AnswerType.YES)], encoder)
    assert len(encoded.windows) == 2
    assert PASSAGE.index(EVIDENCE) >= encoded.windows[1].first
    assert evidence_windows(encoded) == {1}


@pytest.mark.parametrize("answer_type", [AnswerType.YES, AnswerType.NO])
def test_yes_no_labels_every_window_or_only_the_evidence_window(encoder, answer_type) -> None:
    everywhere = rows_of(encoder, [example(answer_type)])
    evidence = rows_of(encoder, [example(answer_type)], yes_no_evidence=True)
    assert [ANSWER_TYPES[row.answer_type] for row in everywhere] == [answer_type] * 2
    assert [ANSWER_TYPES[row.answer_type] for row in evidence] == [AnswerType.NONE, answer_type]
    assert all(set(row.tags) == {TAG_O} for row in everywhere + evidence)


def test_span_labels_the_windows_holding_the_answer(encoder) -> None:
    start = PASSAGE.index("张三")  # only in the first window
    rows = rows_of(encoder, [example(AnswerType.SPAN, (AnswerSpan("张三", start),))])
    first, second = rows
    assert ANSWER_TYPES[first.answer_type] is AnswerType.SPAN
    assert first.tags[start : start + 3] == (TAG_B, TAG_I, TAG_O)
    assert ANSWER_TYPES[second.answer_type] is AnswerType.NONE
    assert set(second.tags) == {TAG_O}


def test_every_occurrence_is_labelled_on_request(encoder) -> None:
    answer = (AnswerSpan("张三", PASSAGE.index("张三")),)
    once = rows_of(encoder, [example(AnswerType.SPAN, answer)])
    everywhere = rows_of(encoder, [example(AnswerType.SPAN, answer)], label_all_occurrences=True)
    assert [row.tags.count(TAG_B) for row in once] == [1, 0]
    assert [row.tags.count(TAG_B) for row in everywhere] == [1, 1]
    assert [ANSWER_TYPES[row.answer_type] for row in everywhere] == [AnswerType.SPAN] * 2


def test_unanswerable_labels_every_window_none(encoder) -> None:
    rows = rows_of(encoder, [example(AnswerType.NONE)])
    assert [ANSWER_TYPES[row.answer_type] for row in rows] == [AnswerType.NONE] * 2


VOCABULARY_SCRIPT = """
from contract.config import ContractConfig
from contract.encode import Encoder
from model.dataset import build_vocabularies, encode_examples
from model.sample_data import generate_examples

encoder = Encoder(ContractConfig(window_len=128, window_stride=96, max_question_len=32))
encoded = encode_examples(generate_examples(30, 5, split="train"), encoder)
chars, words = build_vocabularies(encoded, max_chars=100, max_words=200)
print("\\n".join(chars.tokens + words.tokens))
"""


def test_vocabularies_are_the_same_whatever_the_string_hashing() -> None:
    """Runs in other processes (each with its own string hash seed) must build the same
    vocabularies, so that runs trained on the same data can be ensembled and reproduced."""
    root = Path(__file__).resolve().parents[1]
    tokens = []
    for seed in ("1", "2"):
        env = os.environ | {"PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", VOCABULARY_SCRIPT],
            cwd=root, env=env, capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        tokens.append(done.stdout.split("\n"))
    assert len(tokens[0]) > 250
    assert tokens[0] == tokens[1]
