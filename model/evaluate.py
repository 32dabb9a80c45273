"""Score predicted answers against gold references with the CMRC 2018 or the CJRC metric.

    python -m model.evaluate --gold FILE --pred FILE [--metric cmrc|cjrc] [--json]

The gold file is anything ``model.readers`` reads. Predictions are ``{id: answer}`` (CMRC style)
or ``[{"id": ..., "answer": ...}]`` (CJRC style); an answer is a string or a list of strings.
A list and a multi-text reference are each joined with "" in their given order before scoring.
Both metrics follow the official scripts; docs/DATA_FORMATS.md states them and the few places
where this implementation differs on purpose.
"""

from __future__ import annotations

import argparse
import json
import logging
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from contract.examples import ANSWER_TYPES, QAExample
from model.readers import ReaderError, json_type, read_examples

logger = logging.getLogger(__name__)

Answer = str | Sequence[str]
Score = Callable[[str, Sequence[str]], float]

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_FULL_WIDTH_PUNCTUATION = frozenset(chr(ord(char) + 0xFEE0) for char in string.punctuation)
_CHINESE_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
"""CJK unified ideographs (with extensions A to G) and compatibility ideographs."""


class PredictionError(ValueError):
    """A prediction file that cannot be used; the message names the file and the entry."""


# --- CMRC 2018 ------------------------------------------------------------------------------


def is_punctuation(char: str) -> bool:
    """ASCII punctuation, its full-width forms, and every Unicode punctuation character."""
    return (
        char in _ASCII_PUNCTUATION
        or char in _FULL_WIDTH_PUNCTUATION
        or unicodedata.category(char).startswith("P")
    )


def is_chinese(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CHINESE_RANGES)


@cache
def _cmrc_role(char: str) -> str:
    """How a (lower-cased) character takes part in CMRC tokens; cached, texts repeat characters."""
    if is_punctuation(char):
        return "drop"
    if char.isspace():
        return "split"
    return "alone" if is_chinese(char) else "run"


def cmrc_tokens(text: str) -> list[str]:
    """Lower-cased tokens: each Chinese character alone, other runs split at whitespace.

    Punctuation is deleted first (so "3.14" is one token "314"), whitespace only separates.
    """
    tokens: list[str] = []
    run: list[str] = []
    for char in text.lower():
        role = _cmrc_role(char)
        if role == "run":
            run.append(char)
        elif role != "drop":
            if run:
                tokens.append("".join(run))
                run = []
            if role == "alone":
                tokens.append(char)
    if run:
        tokens.append("".join(run))
    return tokens


def longest_common_run(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest contiguous token sequence found in both.

    Dynamic programming over matching positions only: ``run[j]`` is the length of the common
    run ending at ``second[j - 1]`` and at the current token of ``first``.
    """
    positions: dict[str, list[int]] = {}
    for j, token in enumerate(second, start=1):
        positions.setdefault(token, []).append(j)
    best = 0
    run: dict[int, int] = {}
    for token in first:
        run = {j: run.get(j - 1, 0) + 1 for j in positions.get(token, ())}
        best = max(best, *run.values()) if run else best
    return best


def _f1(common: int, predicted: int, gold: int) -> float:
    """F1 from the overlap size; an empty side scores 1 only against another empty side."""
    if predicted == 0 or gold == 0:
        return float(predicted == gold)
    if common == 0:
        return 0.0
    precision, recall = common / predicted, common / gold
    return 2 * precision * recall / (precision + recall)


def cmrc_f1(prediction: str, references: Sequence[str]) -> float:
    """Best F1 over the references, from the longest common token run (0..1)."""
    predicted = cmrc_tokens(prediction)
    return max(
        _f1(longest_common_run(gold, predicted), len(predicted), len(gold))
        for gold in map(cmrc_tokens, references)
    )


def cmrc_em(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised reference."""
    predicted = cmrc_tokens(prediction)
    return float(any(cmrc_tokens(reference) == predicted for reference in references))


# --- CJRC (CAIL2019) ------------------------------------------------------------------------


def cjrc_chars(text: str) -> list[str]:
    """Lower-cased characters that are letters (Chinese included) or digits; the rest goes."""
    return [char for char in text.lower() if char.isdigit() or char.isalpha()]


def leave_one_out(scores: Sequence[float]) -> float:
    """Mean, over each reference left out, of the best score against the others (CoQA style).

    ``scores`` holds the prediction's score against each reference; one reference scores alone.
    """
    if len(scores) == 1:
        return scores[0]
    return sum(max(scores[:i] + scores[i + 1 :]) for i in range(len(scores))) / len(scores)


def cjrc_f1(prediction: str, references: Sequence[str]) -> float:
    """Bag-of-characters F1, leave-one-out over several references (0..1)."""
    predicted = Counter(cjrc_chars(prediction))
    size = predicted.total()
    return leave_one_out(
        [
            _f1((predicted & gold).total(), size, gold.total())
            for gold in (Counter(cjrc_chars(reference)) for reference in references)
        ]
    )


def cjrc_em(prediction: str, references: Sequence[str]) -> float:
    """Exact match of the normalised texts, leave-one-out over several references (0..1)."""
    predicted = cjrc_chars(prediction)
    return leave_one_out([float(cjrc_chars(reference) == predicted) for reference in references])


METRICS: dict[str, tuple[Score, Score]] = {
    "cmrc": (cmrc_em, cmrc_f1),
    "cjrc": (cjrc_em, cjrc_f1),
}


# --- Scoring a data set ---------------------------------------------------------------------


def answer_text(answer: Answer) -> str:
    """A multi-answer prediction joined in its given order."""
    return answer if isinstance(answer, str) else "".join(answer)


def reference_texts(example: QAExample) -> list[str]:
    """Each alternative reference joined into one string ("" when there is none)."""
    return ["".join(alternative) for alternative in example.references] or [""]


def _totals(scores: Sequence[tuple[float, float, bool]]) -> dict[str, Any]:
    total = len(scores)
    return {
        "em": 100.0 * sum(em for em, _, _ in scores) / max(1, total),
        "f1": 100.0 * sum(f1 for _, f1, _ in scores) / max(1, total),
        "total": total,
        "missing": sum(missing for _, _, missing in scores),
    }


def evaluate(
    examples: Sequence[QAExample], predictions: Mapping[str, Answer], metric: str = "cmrc"
) -> dict[str, Any]:
    """EM and F1 (percent) over all examples; a question without a prediction scores 0.

    With the CJRC metric and examples carrying a domain, ``domains`` maps each domain to the same
    figures; the top-level figures are over all questions, as the official script's "overall".
    ``answer_types`` gives them per gold answer type (span, yes, no, none), to show where the
    errors are.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    exact, f1 = METRICS[metric]
    by_domain: dict[str, list[tuple[float, float, bool]]] = {}
    by_type: dict[str, list[tuple[float, float, bool]]] = {}
    scores = []
    for example in examples:
        if example.id in predictions:
            prediction, references = answer_text(predictions[example.id]), reference_texts(example)
            row = (exact(prediction, references), f1(prediction, references), False)
        else:
            row = (0.0, 0.0, True)
        scores.append(row)
        by_domain.setdefault(example.domain or "unknown", []).append(row)
        by_type.setdefault(example.answer_type.value, []).append(row)
    unknown = set(predictions) - {example.id for example in examples}
    if unknown:
        logger.warning(
            "%d predictions for ids not in the gold data ignored, e.g. %s",
            len(unknown),
            sorted(unknown)[:3],
        )
    result = _totals(scores)
    if metric == "cjrc" and any(example.domain for example in examples):
        result["domains"] = {domain: _totals(rows) for domain, rows in sorted(by_domain.items())}
    result["answer_types"] = {
        kind.value: _totals(by_type[kind.value]) for kind in ANSWER_TYPES if kind.value in by_type
    }
    return result


def answer_type_summary(scores: Mapping[str, Any]) -> str:
    """EM / F1 (questions) per gold answer type of ``evaluate``'s result, for logs:
    "span 11.5 / 45.0 (684), yes 96.1 / 96.2 (77), ..."."""
    return ", ".join(
        f"{kind} {figures['em']:.1f} / {figures['f1']:.1f} ({figures['total']})"
        for kind, figures in scores["answer_types"].items()
    )


# --- Files and command line -----------------------------------------------------------------


def _checked_answer(answer: object, path: Path, entry: str) -> Answer:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(isinstance(part, str) for part in answer):
        return answer
    raise PredictionError(
        f"{path}, {entry}: the answer must be a string or a list of strings, got "
        f"{json_type(answer)}"
    )


def _entries(items: Iterable[object], path: Path) -> dict[str, Answer]:
    predictions: dict[str, Answer] = {}
    for n, item in enumerate(items):
        entry = f"entry {n}"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or "answer" not in item
        ):
            raise PredictionError(f'{path}, {entry}: expected {{"id": string, "answer": ...}}')
        if item["id"] in predictions:
            raise PredictionError(f"{path}, {entry}: duplicate id {item['id']!r}")
        predictions[item["id"]] = _checked_answer(
            item["answer"], path, f"{entry} (id {item['id']!r})"
        )
    return predictions


def read_predictions(path: str | Path) -> dict[str, Answer]:
    """``{id: answer}`` from either prediction file style."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise PredictionError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise PredictionError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise PredictionError(
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if isinstance(doc, dict):
        return {qid: _checked_answer(answer, path, f"id {qid!r}") for qid, answer in doc.items()}
    if isinstance(doc, list):
        return _entries(doc, path)
    raise PredictionError(
        f'{path}: expected {{id: answer}} or [{{"id", "answer"}}, ...], got {json_type(doc)}'
    )


def default_metric(examples: Sequence[QAExample]) -> str:
    """CJRC for gold data with domains (the CJRC files carry civil/criminal), else CMRC."""
    return "cjrc" if any(example.domain for example in examples) else "cmrc"


def format_table(result: Mapping[str, Any], metric: str) -> str:
    rows = [
        *result.get("domains", {}).items(),
        *((f"gold {kind}", figures) for kind, figures in result["answer_types"].items()),
        ("overall", result),
    ]
    lines = [
        f"metric: {metric}",
        f"{'':<10} {'questions':>9} {'missing':>7} {'EM':>7} {'F1':>7}",
    ]
    for name, figures in rows:
        lines.append(
            f"{name:<10} {figures['total']:>9} {figures['missing']:>7} "
            f"{figures['em']:>7.3f} {figures['f1']:>7.3f}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model.evaluate",
        description="Score predictions against gold answers (EM and F1 in percent).",
    )
    parser.add_argument("--gold", required=True, help="SQuAD-style JSON or JSON Lines gold file")
    parser.add_argument(
        "--pred", required=True, help='{id: answer} or [{"id", "answer"}] JSON file'
    )
    parser.add_argument(
        "--metric",
        choices=sorted(METRICS),
        help="default: cjrc when the gold questions have a domain, else cmrc",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        examples = read_examples(args.gold)
        predictions = read_predictions(args.pred)
    except (ReaderError, PredictionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    metric = args.metric or default_metric(examples)
    result = evaluate(examples, predictions, metric)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result, metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
