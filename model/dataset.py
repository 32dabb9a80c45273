"""Annotated examples to training rows (one per window) and padded id batches.

The text side is the shared contract; this module only adds what training needs on top:
vocabularies, BIO labels, answer-type labels and length-grouped batches.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from contract.config import ContractConfig
from contract.encode import (
    TAG_B,
    EncodedExample,
    Encoder,
    PassageWindow,
    answer_positions,
    window_tags,
)
from contract.examples import ANSWER_TYPES, YES_NO_TYPES, AnswerSpan, AnswerType, QAExample
from contract.tensors import (
    PASSAGE_CHARS,
    PASSAGE_MATCH,
    PASSAGE_WORDS,
    QUESTION_CHARS,
    QUESTION_WORDS,
    batch_inputs,
)
from contract.vocab import Vocabulary

log = logging.getLogger(__name__)

ID_INPUTS = {
    PASSAGE_CHARS: "passage_char_ids",
    PASSAGE_WORDS: "passage_word_ids",
    QUESTION_CHARS: "question_char_ids",
    QUESTION_WORDS: "question_word_ids",
}
"""Contract text input -> the Keras model's id input it feeds."""


@dataclass(frozen=True)
class TrainingRow:
    """One window of one question, with its labels."""

    example_index: int
    encoded: EncodedExample
    window: PassageWindow
    tags: tuple[int, ...]
    answer_type: int


def encode_examples(
    examples: Sequence[QAExample], encoder: Encoder, desc: str = "encoding", chunk: int = 512
) -> list[EncodedExample]:
    """Encoded examples in input order, with a progress bar; questions about one passage
    (adjacent in SQuAD-style files) share its segmentation."""
    encoded: list[EncodedExample] = []
    with tqdm(total=len(examples), desc=desc, unit="q", leave=False, mininterval=1.0) as bar:
        for begin in range(0, len(examples), chunk):
            part = examples[begin : begin + chunk]
            encoded.extend(encoder.encode_many([(e.question, e.passage) for e in part]))
            bar.update(len(part))
    return encoded


def training_rows(
    examples: Sequence[QAExample],
    encoded: Sequence[EncodedExample],
    label_all_occurrences: bool = False,
    yes_no_evidence: bool = False,
) -> list[TrainingRow]:
    """Labelled windows; with ``label_all_occurrences`` every occurrence of an answer's text
    in the passage is tagged, not only the annotated one; with ``yes_no_evidence`` a yes/no
    label goes only on the ``evidence_windows`` and the others are unanswerable."""
    rows = []
    for index, (example, enc) in enumerate(zip(examples, encoded, strict=True)):
        answers = _all_occurrences(example) if label_all_occurrences else example.answers
        spans = answer_positions(enc.passage, answers)
        evidence = (
            evidence_windows(enc)
            if yes_no_evidence and example.answer_type in YES_NO_TYPES
            else range(len(enc.windows))
        )
        for number, window in enumerate(enc.windows):
            tags = window_tags(window, spans)
            kind = _window_type(example, tags, number in evidence)
            rows.append(TrainingRow(index, enc, window, tuple(tags), kind))
    return rows


def evidence_windows(encoded: EncodedExample) -> set[int]:
    """Indices of the windows sharing the most distinct question words (of two characters or
    more): where a yes/no question's evidence most likely is. Yes/no data has no evidence
    positions, and a window that does not hold the evidence looks like one of an unanswerable
    question."""
    asked = {word for word in encoded.question.words if len(word) > 1}
    shared = [len(asked.intersection(window.words)) for window in encoded.windows]
    most = max(shared, default=0)
    return {number for number, count in enumerate(shared) if count == most}


def _all_occurrences(example: QAExample) -> tuple[AnswerSpan, ...]:
    found: dict[int, AnswerSpan] = {}
    for answer in example.answers:
        start = example.passage.find(answer.text)
        while start >= 0:
            found.setdefault(start, AnswerSpan(answer.text, start))
            start = example.passage.find(answer.text, start + 1)
    disjoint: list[AnswerSpan] = []
    for span in sorted(found.values(), key=lambda a: a.start):
        if not disjoint or disjoint[-1].end <= span.start:
            disjoint.append(span)
    return tuple(disjoint)


def _window_type(example: QAExample, tags: Sequence[int], holds_evidence: bool) -> int:
    if example.answer_type is AnswerType.SPAN:
        kind = AnswerType.SPAN if TAG_B in tags else AnswerType.NONE
    elif example.answer_type in YES_NO_TYPES:
        kind = example.answer_type if holds_evidence else AnswerType.NONE
    else:
        kind = example.answer_type
    return ANSWER_TYPES.index(kind)


def build_vocabularies(
    encoded: Sequence[EncodedExample], max_chars: int, max_words: int, min_count: int = 1
) -> tuple[Vocabulary, Vocabulary]:
    """Character and word vocabularies from passages and questions, most frequent first; a
    word counts once per question. Ties keep the order words are first met (not a set's, which
    Python's per-process string hashing would change from run to run)."""
    chars: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for enc in encoded:
        chars.update(enc.passage.chars)
        chars.update(enc.question.chars)
        words.update(dict.fromkeys((w for window in enc.windows for w in window.words), 1))
        words.update(dict.fromkeys(enc.question.words, 1))
    char_vocab = Vocabulary.from_counts(chars, min_count=min_count, max_size=max_chars)
    word_vocab = Vocabulary.from_counts(words, min_count=min_count, max_size=max_words)
    log.info("vocabularies: %d characters, %d words", len(char_vocab), len(word_vocab))
    return char_vocab, word_vocab


def id_inputs(
    arrays: dict[str, np.ndarray], char_vocab: Vocabulary, word_vocab: Vocabulary
) -> dict[str, np.ndarray]:
    """Contract string arrays to the Keras model's id inputs (match features pass through;
    the id padding already marks the lengths)."""
    vocab_of = {
        PASSAGE_CHARS: char_vocab,
        QUESTION_CHARS: char_vocab,
        PASSAGE_WORDS: word_vocab,
        QUESTION_WORDS: word_vocab,
    }
    inputs = {ID_INPUTS[name]: vocab_of[name].lookup(arrays[name]) for name in ID_INPUTS}
    inputs[PASSAGE_MATCH] = arrays[PASSAGE_MATCH]
    return inputs


@dataclass
class Batch:
    inputs: dict[str, np.ndarray]
    tags: np.ndarray
    answer_types: np.ndarray
    rows: list[TrainingRow]


class Batcher:
    """Groups rows of similar length into padded batches (less padding, fewer shapes)."""

    def __init__(
        self,
        contract_config: ContractConfig,
        char_vocab: Vocabulary,
        word_vocab: Vocabulary,
        batch_size: int,
    ) -> None:
        self.contract_config = contract_config
        self.char_vocab = char_vocab
        self.word_vocab = word_vocab
        self.batch_size = batch_size

    def make(self, rows: Sequence[TrainingRow]) -> Batch:
        arrays = batch_inputs([(r.encoded.question, r.window) for r in rows], self.contract_config)
        width = arrays[PASSAGE_CHARS].shape[1]
        tags = np.zeros((len(rows), width), dtype=np.int32)
        for i, row in enumerate(rows):
            tags[i, : len(row.tags)] = row.tags
        types = np.asarray([r.answer_type for r in rows], dtype=np.int32)
        return Batch(id_inputs(arrays, self.char_vocab, self.word_vocab), tags, types, list(rows))

    def batches(
        self, rows: Sequence[TrainingRow], rng: np.random.Generator | None
    ) -> Iterator[Batch]:
        """Length-sorted chunks of rows; with ``rng``, shuffled within and across chunks."""
        order = np.arange(len(rows)) if rng is None else rng.permutation(len(rows))
        chunk = self.batch_size * 50
        groups: list[list[int]] = []
        for begin in range(0, len(order), chunk):
            part = sorted(order[begin : begin + chunk], key=lambda i: len(rows[i].window.chars))
            groups.extend(
                part[k : k + self.batch_size] for k in range(0, len(part), self.batch_size)
            )
        if rng is not None:
            rng.shuffle(groups)
        for group in groups:
            yield self.make([rows[i] for i in group])
