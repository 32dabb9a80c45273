"""What one annotated question looks like once a reader has parsed it, whatever the file format."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AnswerType(StrEnum):
    """The four kinds of answer a question can have (CJRC has all four)."""

    SPAN = "span"
    YES = "yes"
    NO = "no"
    NONE = "none"


ANSWER_TYPES: tuple[AnswerType, ...] = tuple(AnswerType)
"""Order of the model's answer-type output: index i is ANSWER_TYPES[i]."""

YES_NO_TYPES = (AnswerType.YES, AnswerType.NO)
"""The answer types whose answer is a verdict rather than text in the passage."""


@dataclass(frozen=True)
class AnswerSpan:
    """An answer located in the passage: ``passage[start:end] == text`` (Python str indices)."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class QAExample:
    """One question about one passage.

    ``answers`` are the spans to extract: several spans mean a multi-answer question, all of
    which are labelled for training. ``references`` are the alternative gold answers used for
    scoring; each alternative is a tuple of answer texts in passage order (one text for an
    ordinary question, several for a multi-answer one, ``("YES",)``/``("NO",)`` for yes/no
    and ``("",)`` for an unanswerable question).
    """

    id: str
    question: str
    passage: str
    answers: tuple[AnswerSpan, ...]
    answer_type: AnswerType
    references: tuple[tuple[str, ...], ...]
    domain: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)
