"""Read annotated questions from SQuAD-style JSON (CMRC 2018, DRCD, CJRC) or JSON Lines.

Both formats become ``QAExample`` (contract/examples.py); docs/DATA_FORMATS.md gives the rules.
Answer offsets are checked against the passage because a wrong offset silently trains the model
on the wrong characters: with ``strict`` it is an error, otherwise the answer is dropped with a
warning and counted in the ``ReadReport``. Offsets counted in UTF-16 code units (as JavaScript
and Java tools write them; CMRC 2018 has a few after characters outside the BMP) are converted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from contract.examples import AnswerSpan, AnswerType, QAExample

logger = logging.getLogger(__name__)

YES_NO_TEXTS = {"YES": AnswerType.YES, "NO": AnswerType.NO}
NO_OFFSET = -1
"""SQuAD ``answer_start`` of a YES/NO or empty (unanswerable) answer."""

SQUAD_EXTRA_FIELDS = ("title", "caseid", "casename")
JSONL_FIELDS = (
    "id",
    "question",
    "passage",
    "answers",
    "answer_type",
    "references",
    "domain",
    "extra",
)
JSONL_ANSWER_FIELDS = ("text", "start")
_JSON_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class ReaderError(ValueError):
    """A data file that cannot be read; the message names the file, the record and the field."""

    def __init__(
        self, path: str | Path, problem: str, record: str | None = None, field: str | None = None
    ) -> None:
        place = [str(path)]
        if record:
            place.append(record)
        if field:
            place.append(f"field {field!r}")
        super().__init__(f"{', '.join(place)}: {problem}")


@dataclass
class ReadReport:
    """What loading one file found besides its questions, for the caller to log."""

    path: Path
    format: str = ""
    questions: int = 0
    offset_mismatches: int = 0
    """Answers dropped because their text is not at their offset (``strict=False`` only)."""
    dropped_questions: int = 0
    """Questions dropped because none of their answers was left."""
    utf16_offsets: int = 0
    """Answers whose offset counted UTF-16 code units and was converted."""
    impossible_flag_ignored: int = 0
    """SQuAD questions whose ``is_impossible`` disagrees with their first answer (which wins)."""
    empty_questions: int = 0
    """SQuAD questions with an empty question text (CMRC 2018 has two), kept as published."""

    def summary(self) -> str:
        notes = [
            f"{count} {label}"
            for count, label in (
                (self.offset_mismatches, "answers dropped for offset mismatches"),
                (self.dropped_questions, "questions dropped"),
                (self.utf16_offsets, "UTF-16 offsets converted"),
                (self.impossible_flag_ignored, "is_impossible flags overruled by the answers"),
                (self.empty_questions, "empty questions kept"),
            )
            if count
        ]
        text = f"read {self.questions} questions from {self.path} ({self.format})"
        return f"{text}; {', '.join(notes)}" if notes else text


class _Reading:
    """One file being read: where errors point, how strict to be, and what was found."""

    def __init__(self, path: Path, strict: bool) -> None:
        self.path = path
        self.strict = strict
        self.report = ReadReport(path)

    def error(
        self, problem: str, record: str | None = None, field: str | None = None
    ) -> ReaderError:
        return ReaderError(self.path, problem, record, field)

    def value(
        self,
        obj: Mapping[str, Any],
        key: str,
        kind: type,
        record: str,
        *,
        field: str | None = None,
        required: bool = True,
    ) -> Any:
        """``obj[key]`` checked to be of JSON type ``kind``; None when optional and absent/null."""
        field = field or key
        value = obj.get(key)
        if value is None:
            if required:
                raise self.error("missing", record, field)
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"expected {_JSON_NAMES[kind]}, got {json_type(value)}", record, field)
        return value

    def text(
        self, obj: Mapping[str, Any], key: str, record: str, *, required: bool = True
    ) -> str | None:
        """A string field that must hold more than whitespace."""
        value = self.value(obj, key, str, record, required=required)
        if value is not None and not value.strip():
            raise self.error("must not be empty", record, key)
        return value

    def span(
        self, passage: str, text: str, start: int, record: str, field: str
    ) -> AnswerSpan | None:
        """The checked span, or None (after a warning) when lenient and it is not at ``start``."""
        located = span_at(passage, text, start)
        if located is not None:
            span, converted = located
            if converted:
                self.report.utf16_offsets += 1
                logger.info(
                    "%s, %s: offset %d counted UTF-16 units; using %d",
                    self.path,
                    record,
                    start,
                    span.start,
                )
            return span
        found = passage[start : start + len(text)]
        problem = f"answer {text!r} is not at offset {start}: the passage there reads {found!r}"
        if self.strict:
            raise self.error(problem, record, field)
        self.report.offset_mismatches += 1
        logger.warning("%s; answer dropped", self.error(problem, record, field))
        return None

    def dropped(self, record: str) -> None:
        self.report.dropped_questions += 1
        logger.warning("%s, %s: question dropped, no valid answer left", self.path, record)


def json_type(value: object) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def span_at(passage: str, text: str, start: int) -> tuple[AnswerSpan, bool] | None:
    """The span of ``text`` at ``start`` and whether ``start`` had to be read as UTF-16 units."""
    if start >= 0 and passage[start : start + len(text)] == text:
        return AnswerSpan(text, start), False
    index = utf16_to_index(passage, start)
    if index is not None and index != start and passage[index : index + len(text)] == text:
        return AnswerSpan(text, index), True
    return None


def utf16_to_index(passage: str, offset: int) -> int | None:
    """The str index at UTF-16 code-unit ``offset``, or None if no character starts there."""
    units = 0
    for index, char in enumerate(passage):
        if units >= offset:
            return index if units == offset else None
        units += 2 if ord(char) > 0xFFFF else 1
    return len(passage) if units == offset else None


def default_references(
    answer_type: AnswerType, answers: tuple[AnswerSpan, ...]
) -> tuple[tuple[str, ...], ...]:
    """The one reference an answer implies: its texts in passage order, YES/NO, or ""."""
    if answer_type is AnswerType.SPAN:
        return (tuple(span.text for span in answers),)
    if answer_type is AnswerType.NONE:
        return (("",),)
    return ((answer_type.value.upper(),),)


# --- SQuAD-style JSON ---------------------------------------------------------------------


def _squad_examples(doc: Mapping[str, Any], reading: _Reading) -> list[QAExample]:
    examples: list[QAExample] = []
    first_seen: dict[str, str] = {}
    entries = reading.value(doc, "data", list, "top level")
    for i, entry in enumerate(entries):
        entry_record = f"data[{i}]"
        _require_object(entry, reading, entry_record)
        for j, paragraph in enumerate(reading.value(entry, "paragraphs", list, entry_record)):
            paragraph_record = f"{entry_record}.paragraphs[{j}]"
            _require_object(paragraph, reading, paragraph_record)
            context = reading.text(paragraph, "context", paragraph_record)
            for k, qa in enumerate(reading.value(paragraph, "qas", list, paragraph_record)):
                position = f"{paragraph_record}.qas[{k}]"
                _require_object(qa, reading, position)
                qid = reading.text(qa, "id", position)
                record = f"question {qid!r} ({position})"
                if qid in first_seen:
                    raise reading.error(
                        f"duplicate id, first used at {first_seen[qid]}", record, "id"
                    )
                first_seen[qid] = position
                example = _squad_example(qid, qa, context, (entry, paragraph), reading, record)
                if example is None:
                    reading.dropped(record)
                else:
                    examples.append(example)
    return examples


def _squad_example(
    qid: str,
    qa: Mapping[str, Any],
    context: str,
    outer: tuple[Mapping[str, Any], ...],
    reading: _Reading,
    record: str,
) -> QAExample | None:
    """One question; its first answer gives the type and the span, all answers the references.

    Published sets contain empty questions, so unlike JSON Lines they are kept (and counted).
    """
    question = reading.value(qa, "question", str, record)
    if not question.strip():
        reading.report.empty_questions += 1
        logger.info("%s, %s: empty question kept", reading.path, record)
    raw_answers = reading.value(qa, "answers", list, record)
    impossible = _impossible_flag(qa, reading, record)
    alternatives = []
    for n, answer in enumerate(raw_answers):
        alternative = _squad_alternative(answer, context, reading, record, f"answers[{n}]")
        if alternative is not None:
            alternatives.append(alternative)
    if raw_answers and not alternatives:
        return None
    if not alternatives:
        alternatives = [(AnswerType.NONE, None, "")]
    answer_type, span, _ = alternatives[0]
    if impossible is not None and impossible != (answer_type is AnswerType.NONE):
        reading.report.impossible_flag_ignored += 1
    domain, extra = _squad_metadata((*outer, qa), reading, record)
    return QAExample(
        id=qid,
        question=question,
        passage=context,
        answers=(span,) if span else (),
        answer_type=answer_type,
        references=tuple((text,) for _, _, text in alternatives),
        domain=domain,
        extra=extra,
    )


def _squad_alternative(
    answer: object, context: str, reading: _Reading, record: str, field: str
) -> tuple[AnswerType, AnswerSpan | None, str] | None:
    """(type, span, text) of one reference answer; None when lenient and its offset is wrong."""
    if not isinstance(answer, dict):
        raise reading.error(f"expected an object, got {json_type(answer)}", record, field)
    text = reading.value(answer, "text", str, record, field=f"{field}.text")
    start = reading.value(answer, "answer_start", int, record, field=f"{field}.answer_start")
    if start == NO_OFFSET:
        if text == "":
            return AnswerType.NONE, None, ""
        if text in YES_NO_TEXTS:
            return YES_NO_TEXTS[text], None, text
        raise reading.error(
            f"-1 is only for the texts 'YES', 'NO' and '' (unanswerable), not {text!r}",
            record,
            f"{field}.answer_start",
        )
    if start < 0:
        raise reading.error(f"must be >= 0 (or -1), got {start}", record, f"{field}.answer_start")
    if not text:
        raise reading.error("empty text needs answer_start -1", record, f"{field}.text")
    span = reading.span(context, text, start, record, field)
    return None if span is None else (AnswerType.SPAN, span, text)


def _impossible_flag(qa: Mapping[str, Any], reading: _Reading, record: str) -> bool | None:
    """``is_impossible`` as a bool: CJRC writes the strings "true"/"false"."""
    flag = qa.get("is_impossible")
    if flag is None or isinstance(flag, bool):
        return flag
    if flag in ("true", "false"):
        return flag == "true"
    raise reading.error(
        f'expected true/false or "true"/"false", got {flag!r}', record, "is_impossible"
    )


def _squad_metadata(
    levels: tuple[Mapping[str, Any], ...], reading: _Reading, record: str
) -> tuple[str | None, dict[str, str]]:
    """``domain`` and the extra fields, wherever they sit; the innermost level wins."""
    found: dict[str, str] = {}
    for key in ("domain", *SQUAD_EXTRA_FIELDS):
        for level in reversed(levels):
            if level.get(key) is not None:
                found[key] = reading.value(level, key, str, record)
                break
    return found.pop("domain", None), found


def _require_object(value: object, reading: _Reading, record: str) -> None:
    if not isinstance(value, dict):
        raise reading.error(f"expected an object, got {json_type(value)}", record)


# --- JSON Lines -----------------------------------------------------------------------------


def _jsonl_examples(text: str, reading: _Reading) -> list[QAExample]:
    examples: list[QAExample] = []
    first_seen: dict[str, int] = {}
    # Split on "\n" only: passages may hold U+2028 and friends, which str.splitlines() breaks on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record = f"line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise reading.error(
                f"invalid JSON: {error.msg} (column {error.colno})", record
            ) from None
        _require_object(obj, reading, record)
        example = _jsonl_example(obj, reading, record, f"{reading.path.stem}-{number}")
        if example is None:
            reading.dropped(record)
            continue
        if example.id in first_seen:
            raise reading.error(
                f"duplicate id {example.id!r}, first used on line {first_seen[example.id]}",
                record,
                "id",
            )
        first_seen[example.id] = number
        examples.append(example)
    return examples


def _jsonl_example(
    obj: Mapping[str, Any], reading: _Reading, record: str, default_id: str
) -> QAExample | None:
    unknown = [key for key in obj if key not in JSONL_FIELDS]
    if unknown:
        raise reading.error(
            f"unknown field; allowed: {', '.join(JSONL_FIELDS)}", record, unknown[0]
        )
    qid = reading.text(obj, "id", record, required=False) or default_id
    question = reading.text(obj, "question", record)
    passage = reading.text(obj, "passage", record)
    raw_answers = reading.value(obj, "answers", list, record)
    typed = _jsonl_answers(raw_answers, passage, reading, record)
    if typed is None:
        return None
    answer_type, answers = typed
    stated = reading.value(obj, "answer_type", str, record, required=False)
    if stated is not None and stated != answer_type.value:
        allowed = ", ".join(t.value for t in AnswerType)
        problem = (
            f"says {stated!r} but the answers make it {answer_type.value!r}"
            if stated in {t.value for t in AnswerType}
            else f"expected one of {allowed}, got {stated!r}"
        )
        raise reading.error(problem, record, "answer_type")
    extra = reading.value(obj, "extra", dict, record, required=False) or {}
    for key in extra:
        reading.value(extra, key, str, record, field=f"extra.{key}")
    return QAExample(
        id=qid,
        question=question,
        passage=passage,
        answers=answers,
        answer_type=answer_type,
        references=_jsonl_references(
            obj, default_references(answer_type, answers), reading, record
        ),
        domain=reading.text(obj, "domain", record, required=False),
        extra=dict(extra),
    )


def _jsonl_answers(
    raw_answers: list[Any], passage: str, reading: _Reading, record: str
) -> tuple[AnswerType, tuple[AnswerSpan, ...]] | None:
    """The type and the spans (sorted, deduplicated); None when lenient and an offset is wrong."""
    if not raw_answers:
        return AnswerType.NONE, ()
    only = raw_answers[0] if len(raw_answers) == 1 else None
    if isinstance(only, str) and only in YES_NO_TEXTS:
        return YES_NO_TEXTS[only], ()
    spans = set()
    for n, answer in enumerate(raw_answers):
        field = f"answers[{n}]"
        if isinstance(answer, str):
            spans.add(_first_occurrence(answer, passage, reading, record, field))
        elif isinstance(answer, dict):
            span = _located_answer(answer, passage, reading, record, field)
            if span is None:
                return None
            spans.add(span)
        else:
            raise reading.error(
                f"expected a string or an object, got {json_type(answer)}", record, field
            )
    ordered = sorted(spans, key=lambda span: (span.start, span.end))
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise reading.error(
                f"answers {before.text!r} (start {before.start}) and {after.text!r} "
                f"(start {after.start}) overlap",
                record,
                "answers",
            )
    return AnswerType.SPAN, tuple(ordered)


def _first_occurrence(
    answer: str, passage: str, reading: _Reading, record: str, field: str
) -> AnswerSpan:
    if answer in YES_NO_TEXTS:
        raise reading.error(
            f"{answer!r} must be the only answer of a yes/no question; for a span write "
            f'{{"text": "{answer}", "start": N}}',
            record,
            field,
        )
    if not answer.strip():
        raise reading.error("empty answer; write [] for an unanswerable question", record, field)
    start = passage.find(answer)
    if start < 0:
        raise reading.error(f"answer {answer!r} does not occur in the passage", record, field)
    return AnswerSpan(answer, start)


def _located_answer(
    answer: Mapping[str, Any], passage: str, reading: _Reading, record: str, field: str
) -> AnswerSpan | None:
    unknown = [key for key in answer if key not in JSONL_ANSWER_FIELDS]
    if unknown:
        raise reading.error("unknown field; allowed: text, start", record, f"{field}.{unknown[0]}")
    text = reading.value(answer, "text", str, record, field=f"{field}.text")
    if not text.strip():
        raise reading.error("must not be empty", record, f"{field}.text")
    start = reading.value(answer, "start", int, record, field=f"{field}.start")
    if start < 0:
        raise reading.error(f"must be >= 0, got {start}", record, f"{field}.start")
    return reading.span(passage, text, start, record, field)


def _jsonl_references(
    obj: Mapping[str, Any],
    implied: tuple[tuple[str, ...], ...],
    reading: _Reading,
    record: str,
) -> tuple[tuple[str, ...], ...]:
    """Optional alternative references; they must include the reference the answers imply."""
    raw = reading.value(obj, "references", list, record, required=False)
    if raw is None:
        return implied
    references = []
    for n, alternative in enumerate(raw):
        field = f"references[{n}]"
        if not isinstance(alternative, list) or not alternative:
            raise reading.error("expected a non-empty array of strings", record, field)
        for m, text in enumerate(alternative):
            if not isinstance(text, str):
                raise reading.error(
                    f"expected a string, got {json_type(text)}", record, f"{field}[{m}]"
                )
        references.append(tuple(alternative))
    if implied[0] not in references:
        raise reading.error(
            f"must include the answer itself, {list(implied[0])}", record, "references"
        )
    return tuple(references)


# --- Files ----------------------------------------------------------------------------------


def _read_text(reading: _Reading) -> str:
    try:
        text = reading.path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise reading.error(f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise reading.error(f"cannot read: {error.strerror or error}") from None
    if not text.strip():
        raise reading.error("the file is empty")
    return text


def _parse(text: str, reading: _Reading) -> Mapping[str, Any] | None:
    """The SQuAD document, or None for JSON Lines."""
    unknown = 'unknown format: expected SQuAD-style JSON ({"data": [...]}) or JSON Lines'
    if not text.lstrip().startswith(("{", "[")):
        raise reading.error(unknown)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # a second JSON value: one object per line
            return None
        raise reading.error(
            f"invalid JSON: {error.msg}", f"line {error.lineno}, column {error.colno}"
        ) from None
    if isinstance(doc, dict) and "data" in doc:
        return doc
    if isinstance(doc, dict) and len(text.strip().split("\n")) == 1:
        return None
    raise reading.error(f'{unknown}, got {json_type(doc)} without "data"')


def _finish(
    examples: list[QAExample], reading: _Reading, file_format: str
) -> tuple[list[QAExample], ReadReport]:
    reading.report.format = file_format
    reading.report.questions = len(examples)
    if not examples:
        dropped = reading.report.dropped_questions
        raise reading.error(
            f"no usable questions: all {dropped} were dropped" if dropped else "no questions found"
        )
    return examples, reading.report


def _read(
    path: str | Path, strict: bool, file_format: str | None
) -> tuple[list[QAExample], ReadReport]:
    """Read ``path`` as ``file_format`` ("squad" or "jsonl"), or as detected when None."""
    reading = _Reading(Path(path), strict)
    text = _read_text(reading)
    doc = None if file_format == "jsonl" else _parse(text, reading)
    if doc is not None:
        return _finish(_squad_examples(doc, reading), reading, "squad")
    if file_format == "squad":
        raise reading.error('not SQuAD-style JSON: no top-level object with "data"')
    return _finish(_jsonl_examples(text, reading), reading, "jsonl")


def read_squad(path: str | Path, *, strict: bool = True) -> tuple[list[QAExample], ReadReport]:
    """Questions from a SQuAD-style JSON file (CMRC 2018, DRCD, CJRC)."""
    return _read(path, strict, "squad")


def read_jsonl(path: str | Path, *, strict: bool = True) -> tuple[list[QAExample], ReadReport]:
    """Questions from a JSON Lines file, one question per line."""
    return _read(path, strict, "jsonl")


def read_with_report(
    path: str | Path, *, strict: bool = True
) -> tuple[list[QAExample], ReadReport]:
    """Questions from either format, detected by content, with what was found on the way."""
    return _read(path, strict, None)


def read_examples(path: str | Path, *, strict: bool = True) -> list[QAExample]:
    """Questions from either format; problems found in lenient mode are logged as a summary."""
    examples, report = read_with_report(path, strict=strict)
    lost = report.offset_mismatches or report.dropped_questions
    logger.log(logging.WARNING if lost else logging.INFO, "%s", report.summary())
    return examples


def repeated_ids(examples: Iterable[QAExample]) -> list[str]:
    """Question ids used more than once, in first-seen order: files matched by id need none."""
    return [qid for qid, count in Counter(example.id for example in examples).items() if count > 1]


# --- Writing --------------------------------------------------------------------------------


def example_record(example: QAExample) -> dict[str, Any]:
    """The JSON Lines object for one example (the inverse of reading one line)."""
    if example.answer_type is AnswerType.SPAN:
        answers: list[Any] = [{"text": span.text, "start": span.start} for span in example.answers]
    elif example.answer_type is AnswerType.NONE:
        answers = []
    else:
        answers = [example.answer_type.value.upper()]
    record: dict[str, Any] = {
        "id": example.id,
        "question": example.question,
        "passage": example.passage,
        "answers": answers,
        "answer_type": example.answer_type.value,
    }
    if example.references != default_references(example.answer_type, example.answers):
        record["references"] = [list(alternative) for alternative in example.references]
    if example.domain is not None:
        record["domain"] = example.domain
    if example.extra:
        record["extra"] = dict(example.extra)
    return record


def write_jsonl(examples: Iterable[QAExample], path: str | Path) -> Path:
    """Write JSON Lines that ``read_examples`` reads back unchanged; returns ``path``."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(example_record(example), ensure_ascii=False) + "\n")
    return path
