"""Model outputs to answers: BIO spans per window, merged across windows, typed and ranked.

Span rule: a span starts at a position whose most probable tag is B (or I right after a
position outside any span) and continues over the following positions whose most probable
tag is I. Its score is the geometric mean of the winning tag probabilities over its
positions, so it reads as a per-character confidence in [0, 1] whatever the span length.

Boundaries: a model trained with a boundary head also outputs, per window, where an answer
starts and where it ends (two distributions over positions). A window's first span is then the
one the head points at: the start and end of highest joint probability, the end not before the
start, at most ``MAX_POINTED_SPAN`` characters on and not past where the tags begin another
span, scored by the tags like any span. The tag spans that do not overlap it follow as further
answers, each with its end placed where the head finds an end likeliest among the span's own
positions, and scored at most as high as the pointed span. Tags trained with a heavy weight on
answer positions run on past an answer's end and do not choose well between rival spans; the
head, trained to point at one position, does both better (on CJRC dev, +10 EM from placing the
ends and 1-3 EM more from pointing; docs/BENCHMARKS.md).

Across windows, candidates are ranked by score; a candidate overlapping a better one (the same
answer seen from another window, or a rival reading) is dropped. Then ``min_score`` and
``top_k`` apply, and answers are returned best first.

Answer type: per-window type probabilities are combined as span = max over windows (one
window holding the answer is enough), yes/no = mean, none = min (every window must agree),
renormalised; the most probable type wins. A yes/no/none question returns no spans.

Fallback: a span question whose spans all fall below ``min_score`` (or whose tags form no span
at all) gets its most probable single span - the tagging B I...I with O everywhere else that
is likelier, relative to all O, than any other - if that span scores at least
``fallback_min_score``; otherwise (or with ``fallback_min_score=None``) it is unanswerable. Two
thresholds, both chosen on dev (model.threshold): how sure an extra answer must be, and how sure
the only answer must be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from contract.encode import TAG_B, TAG_I, TAG_O, EncodedExample
from contract.examples import ANSWER_TYPES, AnswerType
from contract.tensors import ANSWER_TYPE_PROBS, BIO_PROBS, BOUNDARY_PROBS

BOUNDARY_START = 0
BOUNDARY_END = 1
"""Channels of the boundary output: where answers start, and where they end."""

MAX_POINTED_SPAN = 128
"""The longest span, in characters, the boundary head may point at (longer than nearly every
CJRC and CMRC 2018 answer; it keeps a confident start from pairing with a far-off end)."""


@dataclass(frozen=True)
class Answer:
    """``passage[start:end] == text`` on the user's original passage."""

    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, str | int | float]:
        return {"text": self.text, "start": self.start, "end": self.end, "score": self.score}


@dataclass(frozen=True)
class Prediction:
    answer_type: AnswerType
    answers: tuple[Answer, ...]
    type_probs: dict[str, float]

    def to_dict(self) -> dict:
        return {
            "answer_type": self.answer_type.value,
            "answers": [answer.to_dict() for answer in self.answers],
            "type_probs": self.type_probs,
        }


@dataclass
class WindowOutputs:
    """The model's outputs for window rows, in the order of ``window_rows``: per row a [n, 3]
    BIO and a [4] answer-type array, and a [n, 2] boundary array from models that have one."""

    bio: list[np.ndarray] = field(default_factory=list)
    types: list[np.ndarray] = field(default_factory=list)
    boundary: list[np.ndarray] | None = None

    def add(self, named: Mapping[str, np.ndarray], rows: int) -> None:
        """Appends one predict call's named outputs for ``rows`` window rows; a ValueError
        saying what came back if an output is missing or holds another number of rows."""
        optional = [BOUNDARY_PROBS] if BOUNDARY_PROBS in named else []
        if any(
            len(named.get(name, ())) != rows for name in (BIO_PROBS, ANSWER_TYPE_PROBS, *optional)
        ):
            shapes = {name: list(np.shape(value)) for name, value in named.items()}
            raise ValueError(
                f"expected {BIO_PROBS} and {ANSWER_TYPE_PROBS} for {rows} rows, got {shapes}"
            )
        self.bio.extend(named[BIO_PROBS])
        self.types.extend(named[ANSWER_TYPE_PROBS])
        if BOUNDARY_PROBS in named:
            if self.boundary is None:
                self.boundary = []
            self.boundary.extend(named[BOUNDARY_PROBS])

    def rows(self, first: int, count: int) -> WindowOutputs:
        """The outputs of rows ``first`` to ``first + count`` (one example's windows)."""
        last = first + count
        boundary = None if self.boundary is None else self.boundary[first:last]
        return WindowOutputs(self.bio[first:last], self.types[first:last], boundary)

    def __len__(self) -> int:
        return len(self.bio)


def window_spans(
    bio_probs: np.ndarray, boundary_probs: np.ndarray | None = None
) -> list[tuple[int, int, float]]:
    """Spans (first, last_exclusive, score) in one window's [n, 3] BIO probabilities; with the
    window's [n, 2] boundary probabilities, the span they point at first, then the tag spans
    that do not overlap it (ends placed by the head, scores capped at the pointed span's)."""
    spans = tag_spans(bio_probs, boundary_probs)
    if boundary_probs is None or not len(bio_probs):
        return spans
    first, last = pointed_span(bio_probs, boundary_probs)
    score = _tagging_score(np.log(np.maximum(bio_probs, 1e-30)), first, last)
    others = [(a, b, min(s, score)) for a, b, s in spans if b <= first or last <= a]
    return [(first, last, score), *others]


def pointed_span(bio_probs: np.ndarray, boundary_probs: np.ndarray) -> tuple[int, int]:
    """The span (first, last_exclusive) of a window whose start and end probabilities have the
    highest product (earliest on ties), at most ``MAX_POINTED_SPAN`` characters long and not
    running into another answer: past its first position, no character's likeliest tag is B.
    (With several answers in a window, the start of one and the end of another can otherwise
    be the likeliest pair.)"""
    logs = np.log(np.maximum(np.asarray(boundary_probs, dtype=np.float64), 1e-30))
    starts, ends = logs[:, BOUNDARY_START], logs[:, BOUNDARY_END]
    count = len(logs)
    positions = np.arange(count)
    b_at = np.where(np.asarray(bio_probs).argmax(axis=-1) == TAG_B, positions, count)
    next_b = np.append(np.minimum.accumulate(b_at[::-1])[::-1][1:], count)  # first B after each
    reach = np.minimum(positions + MAX_POINTED_SPAN, next_b)  # exclusive bound on each end
    best_end = ends.max()
    value, first, last = -np.inf, 0, 0
    # Likeliest starts first; once a start cannot win even with the best end anywhere, stop.
    for start in np.argsort(-starts, kind="stable").tolist():
        if starts[start] + best_end < value:
            break
        end = start + int(ends[start : reach[start]].argmax())
        candidate = starts[start] + ends[end]
        if candidate > value or (candidate == value and start < first):
            value, first, last = candidate, start, end
    return first, last + 1


def tag_spans(
    bio_probs: np.ndarray, boundary_probs: np.ndarray | None = None
) -> list[tuple[int, int, float]]:
    """The spans the tags form (see the module docstring), each end placed by the window's
    [n, 2] boundary probabilities when given."""
    tags = bio_probs.argmax(axis=-1).tolist()
    best = np.log(np.maximum(bio_probs.max(axis=-1), 1e-30)).tolist()
    spans = []
    first = -1
    for position, tag in enumerate([*tags, 0]):
        if first >= 0 and tag != TAG_I:
            last = placed_end(first, position, boundary_probs)
            spans.append((first, last, float(np.exp(sum(best[first:last]) / (last - first)))))
            first = -1
        if tag == TAG_B or (tag == TAG_I and first < 0):
            first = position
    return spans


def placed_end(first: int, last: int, boundary_probs: np.ndarray | None) -> int:
    """The exclusive end of span [first, last) moved to where the boundary head most expects
    an answer to end within it (``last`` unchanged without a boundary head)."""
    if boundary_probs is None:
        return last
    return first + 1 + int(np.argmax(boundary_probs[first:last, BOUNDARY_END]))


def most_probable_span(bio_probs: np.ndarray) -> tuple[int, int, float, float]:
    """The one span (first, last_exclusive) of a window's [n, 3] BIO probabilities whose
    tagging (B, then I to its end, O elsewhere) has the highest likelihood ratio against all O;
    returns it with that log ratio and its score (geometric mean of its B and I probabilities).

    The ratio of span [s, e) is gain_b[s] + sum(gain_i[s+1:e]); for each end, the best start is
    a running maximum, so the search is linear in the window length with no cap on span length.
    """
    logs = np.log(np.maximum(np.asarray(bio_probs, dtype=np.float64), 1e-30))
    gain_b = logs[:, TAG_B] - logs[:, TAG_O]
    gain_i = logs[:, TAG_I] - logs[:, TAG_O]
    inside = np.concatenate([[0.0], np.cumsum(gain_i)])  # inside[k] = sum(gain_i[:k])
    start_value = gain_b - inside[1:]
    ratio_by_end = inside[1:] + np.maximum.accumulate(start_value)  # span ending before e + 1
    last = int(ratio_by_end.argmax()) + 1
    first = int(start_value[:last].argmax())
    return first, last, float(ratio_by_end[last - 1]), _tagging_score(logs, first, last)


def _tagging_score(logs: np.ndarray, first: int, last: int) -> float:
    """Geometric mean of the probabilities of the tagging B I ... I over span [first, last),
    from a window's [n, 3] log BIO probabilities."""
    return float(
        np.exp(np.concatenate([[logs[first, TAG_B]], logs[first + 1 : last, TAG_I]]).mean())
    )


_WINDOW_REDUCERS = {
    AnswerType.SPAN: np.max,
    AnswerType.YES: np.mean,
    AnswerType.NO: np.mean,
    AnswerType.NONE: np.min,
}


def combine_type_probs(per_window: np.ndarray) -> np.ndarray:
    """Answer-type probabilities of a passage from those of its windows ([w, 4] -> [4])."""
    combined = np.array(
        [_WINDOW_REDUCERS[kind](per_window[:, i]) for i, kind in enumerate(ANSWER_TYPES)]
    )
    return combined / combined.sum()


def decode(
    example: EncodedExample,
    outputs: WindowOutputs,
    *,
    top_k: int,
    min_score: float,
    fallback_min_score: float | None = None,
) -> Prediction:
    """Answers for one encoded example from its windows' outputs (padding positions allowed)."""
    counts = [len(outputs.bio), len(outputs.types)]
    if outputs.boundary is not None:
        counts.append(len(outputs.boundary))
    if any(count != len(example.windows) for count in counts):
        raise ValueError(
            f"expected outputs for {len(example.windows)} windows, got "
            f"{len(outputs.bio)} BIO and {len(outputs.types)} answer-type rows"
            + ("" if outputs.boundary is None else f" and {len(outputs.boundary)} boundary rows")
        )
    passage = example.passage
    candidates: list[Answer] = []
    for index, window in enumerate(example.windows):
        bio, boundary = _window_arrays(outputs, index, len(window.chars))
        for first, last, score in window_spans(bio, boundary):
            start, end = passage.original_span(window.first + first, window.first + last)
            candidates.append(Answer(passage.original[start:end], start, end, score))
    answers = _best_disjoint(candidates, top_k, min_score)

    combined = combine_type_probs(np.asarray(outputs.types, dtype=np.float64))
    answer_type = ANSWER_TYPES[int(combined.argmax())]
    if answer_type is not AnswerType.SPAN:
        answers = []
    elif not answers:
        if fallback_min_score is not None:
            answers = _most_probable_answer(example, outputs, fallback_min_score)
        if not answers:
            answer_type = AnswerType.NONE
    return Prediction(
        answer_type,
        tuple(answers),
        {kind.value: float(p) for kind, p in zip(ANSWER_TYPES, combined, strict=True)},
    )


def _window_arrays(
    outputs: WindowOutputs, index: int, length: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Window ``index``'s BIO and boundary arrays cut to its ``length`` real positions."""
    bio = np.asarray(outputs.bio[index])[:length]
    if outputs.boundary is None:
        return bio, None
    return bio, np.asarray(outputs.boundary[index])[:length]


def _most_probable_answer(
    example: EncodedExample, outputs: WindowOutputs, min_score: float
) -> list[Answer]:
    """The most probable single span over all windows (its end placed by the boundary head,
    if any), at original offsets, if it scores at least ``min_score`` ([] if not, or for a
    passage without characters)."""
    per_window = []
    for index, window in enumerate(example.windows):
        if window.chars:
            bio, boundary = _window_arrays(outputs, index, len(window.chars))
            first, last, ratio, score = most_probable_span(bio)
            if boundary is not None:
                last = placed_end(first, last, boundary)
                score = _tagging_score(np.log(np.maximum(bio, 1e-30)), first, last)
            per_window.append((ratio, window.first + first, window.first + last, score))
    if not per_window:
        return []
    _, first, last, score = max(per_window, key=lambda found: found[0])
    if score < min_score:
        return []
    start, end = example.passage.original_span(first, last)
    return [Answer(example.passage.original[start:end], start, end, score)]


def _best_disjoint(candidates: list[Answer], top_k: int, min_score: float) -> list[Answer]:
    """Best-first, skipping any candidate that overlaps a kept one; stops at ``top_k`` or at
    the first score below ``min_score`` (all later ones are lower)."""
    kept: list[Answer] = []
    for candidate in sorted(candidates, key=lambda a: (-a.score, a.start)):
        if len(kept) == top_k or candidate.score < min_score:
            break
        if all(candidate.end <= k.start or k.end <= candidate.start for k in kept):
            kept.append(candidate)
    return kept


def decode_rows(
    encoded: Sequence[EncodedExample],
    outputs: WindowOutputs,
    *,
    top_k: int,
    min_score: float,
    fallback_min_score: float | None = None,
) -> list[Prediction]:
    """Predictions for many examples from outputs aligned with ``window_rows(encoded)``."""
    predictions = []
    row = 0
    for example in encoded:
        count = len(example.windows)
        predictions.append(
            decode(
                example,
                outputs.rows(row, count),
                top_k=top_k,
                min_score=min_score,
                fallback_min_score=fallback_min_score,
            )
        )
        row += count
    if row != len(outputs):
        raise ValueError(f"{len(outputs)} output rows for {row} windows")
    return predictions


def scoring_answer(prediction: Prediction, multi_answer: bool) -> str | list[str]:
    """The answer as prediction files and the scorer expect it: "YES"/"NO" for yes/no, ""
    for none, the best span's text, or (``multi_answer``) every span's text in passage order."""
    if prediction.answer_type is AnswerType.YES:
        return "YES"
    if prediction.answer_type is AnswerType.NO:
        return "NO"
    if not prediction.answers:
        return ""
    if multi_answer:
        return [a.text for a in sorted(prediction.answers, key=lambda a: a.start)]
    return prediction.answers[0].text
