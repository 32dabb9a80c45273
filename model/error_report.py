"""Where a model's dev errors are: the answer type it gave for each gold type, and where its
first span lies against the gold span.

EM/F1 say how much is wrong; these counts say what kind of wrong, which is what decides the next
change (the boundary head came from counting answers that ran past the gold end). TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contract.decode import Answer, Prediction
from contract.examples import ANSWER_TYPES, AnswerSpan, AnswerType, QAExample

PLACEMENTS = ("exact", "covers", "inside", "overlaps", "elsewhere")
"""How a predicted span lies against a gold span, best first: the same characters; all of the
gold and more; part of the gold and nothing else; some of both; no common character."""


def placement(predicted: Answer, gold: Sequence[AnswerSpan]) -> str:
    """The best of ``PLACEMENTS`` that ``predicted`` reaches against any of the ``gold`` spans
    (offsets on the same passage)."""
    return min((_placement(predicted, span) for span in gold), key=PLACEMENTS.index)


def _placement(predicted: Answer, gold: AnswerSpan) -> str:
    if (predicted.start, predicted.end) == (gold.start, gold.end):
        return "exact"
    if predicted.start <= gold.start and gold.end <= predicted.end:
        return "covers"
    if gold.start <= predicted.start and predicted.end <= gold.end:
        return "inside"
    if predicted.start < gold.end and gold.start < predicted.end:
        return "overlaps"
    return "elsewhere"


def error_report(
    examples: Sequence[QAExample], predictions: Sequence[Prediction]
) -> dict[str, dict[str, Any]]:
    """``answer_types``: gold type -> predicted type -> questions (a span question decoded with
    no span counts as "none"); ``span_placement``: for gold span questions answered with a
    span, how the first (best) answer lies against the gold spans."""
    types = {gold.value: {kind.value: 0 for kind in ANSWER_TYPES} for gold in ANSWER_TYPES}
    spans = dict.fromkeys(PLACEMENTS, 0)
    for example, prediction in zip(examples, predictions, strict=True):
        given = prediction.answer_type
        if given is AnswerType.SPAN and not prediction.answers:
            given = AnswerType.NONE
        types[example.answer_type.value][given.value] += 1
        if example.answer_type is AnswerType.SPAN and given is AnswerType.SPAN:
            spans[placement(prediction.answers[0], example.answers)] += 1
    return {"answer_types": types, "span_placement": spans}


def format_error_report(report: dict[str, dict[str, Any]]) -> str:
    """The report as two Markdown tables."""
    kinds = [kind.value for kind in ANSWER_TYPES]
    lines = [
        "| gold \\ given | " + " | ".join(kinds) + " |",
        "| --- |" + " --- |" * len(kinds),
    ]
    for gold, row in report["answer_types"].items():
        lines.append(f"| {gold} | " + " | ".join(str(row[kind]) for kind in kinds) + " |")
    spans = report["span_placement"]
    lines += [
        "",
        "| first span against the gold | " + " | ".join(PLACEMENTS) + " |",
        "| --- |" + " --- |" * len(PLACEMENTS),
        "| span questions | " + " | ".join(str(spans[name]) for name in PLACEMENTS) + " |",
    ]
    return "\n".join(lines)
