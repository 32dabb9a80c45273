"""The sample data generator: deterministic, exact offsets, the promised mix, valid ID numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from contract.examples import AnswerType
from model.readers import example_record, read_examples, write_jsonl
from model.sample_data import (
    DEFAULT_MIX,
    MAX_PASSAGE_CHARS,
    MIN_PASSAGE_CHARS,
    QuestionKind,
    generate_examples,
    id_check_digit,
    parse_mix,
)

REPO = Path(__file__).resolve().parents[1]
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


@pytest.fixture(scope="module")
def examples():
    return generate_examples(1000, seed=7)


def _kinds(examples) -> Counter:
    return Counter(example.extra["question_kind"] for example in examples)


def test_same_seed_gives_identical_examples(examples):
    again = generate_examples(1000, seed=7)
    assert again == examples
    assert [e.id for e in again] == [e.id for e in examples]


def test_other_seed_or_split_gives_other_passages(examples):
    passages = {e.passage for e in examples}
    assert passages.isdisjoint(e.passage for e in generate_examples(300, seed=8))
    assert passages.isdisjoint(e.passage for e in generate_examples(300, seed=7, split="dev"))


def test_ids_are_unique_and_name_split_seed_passage_and_question(examples):
    assert len({e.id for e in examples}) == len(examples)
    assert examples[0].id == "train-7-00000-0"
    assert all(re.fullmatch(r"train-7-\d{5}-[0-3]", e.id) for e in examples)


def test_every_span_sits_at_its_offset(examples):
    spans = [(e, span) for e in examples for span in e.answers]
    assert len(spans) > 700
    for example, span in spans:
        assert example.passage[span.start : span.end] == span.text, example.id
        assert span.text.strip() == span.text != ""


def test_answers_and_references_match_the_answer_type(examples):
    for example in examples:
        kind = example.extra["question_kind"]
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            assert example.answer_type is AnswerType.SPAN
            assert example.references == (tuple(span.text for span in example.answers),)
            assert (len(example.answers) == 1) == (kind == QuestionKind.SINGLE)
        elif kind == QuestionKind.YES_NO:
            assert example.answers == ()
            assert example.references == ((example.answer_type.name,),)
            assert example.answer_type in (AnswerType.YES, AnswerType.NO)
        else:
            assert (example.answer_type, example.answers) == (AnswerType.NONE, ())
            assert example.references == (("",),)


def test_multi_answer_spans_are_sorted_and_do_not_overlap(examples):
    multi = [e for e in examples if e.extra["question_kind"] == QuestionKind.MULTI]
    assert len(multi) == 150
    for example in multi:
        assert len(example.answers) >= 2
        for left, right in zip(example.answers, example.answers[1:], strict=False):
            assert left.end <= right.start, example.id


def test_default_mix_is_met_exactly_and_yes_no_is_balanced(examples):
    assert _kinds(examples) == {kind: round(1000 * share) for kind, share in DEFAULT_MIX.items()}
    types = Counter(e.answer_type for e in examples)
    assert 0.35 < types[AnswerType.YES] / (types[AnswerType.YES] + types[AnswerType.NO]) < 0.65


def test_custom_mix_rounds_to_the_requested_count():
    mixed = generate_examples(11, seed=1, mix={QuestionKind.SINGLE: 1, QuestionKind.NO_ANSWER: 1})
    assert len(mixed) == 11
    assert _kinds(mixed) == {QuestionKind.SINGLE: 6, QuestionKind.NO_ANSWER: 5}


def test_passages_are_record_sized_and_carry_several_questions(examples):
    by_passage = Counter(e.passage for e in examples)
    assert all(MIN_PASSAGE_CHARS <= len(p) <= MAX_PASSAGE_CHARS for p in by_passage)
    assert 1 < len(examples) / len(by_passage) <= 4


def test_id_check_digit_matches_the_standard_example():
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44010619850312123") == "7"  # weighted sum 236, 236 % 11 == 5
    with pytest.raises(ValueError, match="17 digits"):
        id_check_digit("1101051949123100")


def _mod_11_2_valid(number: str) -> bool:
    """ISO 7064 MOD 11-2 over all 18 characters, the check GB 11643 is built on."""
    values = [10 if c == "X" else int(c) for c in number]
    return sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1


def test_every_id_number_in_the_passages_is_valid(examples):
    numbers = {n for p in {e.passage for e in examples} for n in ID_NUMBER.findall(p)}
    assert len(numbers) > 300
    assert all(_mod_11_2_valid(n) for n in numbers)
    asked = [e for e in examples if "身份号码" in e.question or "身份证号码" in e.question]
    assert all(_mod_11_2_valid(e.answers[0].text) for e in asked if e.answers)


def test_parse_mix_reads_kinds_and_rejects_bad_entries():
    assert parse_mix("single=0.7,none=0.3") == {
        QuestionKind.SINGLE: 0.7,
        QuestionKind.NO_ANSWER: 0.3,
    }
    with pytest.raises(ValueError) as unknown:
        parse_mix("single=0.5,maybe=0.5")
    assert str(unknown.value) == (
        "bad mix entry 'maybe=0.5': expected KIND=SHARE with KIND one of "
        "single, multi, yes_no, none"
    )
    with pytest.raises(ValueError) as empty:
        parse_mix("single=0")
    assert str(empty.value) == "mix shares must be >= 0 and not all 0, got {'single': 0.0}"


def test_written_files_read_back_as_the_same_questions(examples, tmp_path):
    read_back = read_examples(write_jsonl(examples, tmp_path / "sample.jsonl"))
    assert read_back == examples
    assert [e.extra for e in read_back] == [e.extra for e in examples]


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "model.sample_data", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_cli_writes_train_and_dev_with_the_requested_counts(tmp_path):
    result = _run_cli(
        "--out", str(tmp_path / "data"), "--train", "40", "--dev", "12", "--seed", "3"
    )
    assert result.returncode == 0, result.stderr
    lines = {
        split: (tmp_path / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        for split in ("train", "dev")
    }
    assert (len(lines["train"]), len(lines["dev"])) == (40, 12)
    assert lines["train"][0] == json.dumps(
        example_record(generate_examples(40, seed=3)[0]), ensure_ascii=False
    )
    records = [json.loads(line) for split in lines.values() for line in split]
    assert {r["passage"] for r in records[:40]}.isdisjoint(r["passage"] for r in records[40:])
    assert "wrote 40 questions" in result.stderr and "train.jsonl" in result.stderr
    assert "single 22, multi 6, yes_no 6" in result.stderr


def test_cli_rejects_a_negative_count(tmp_path):
    result = _run_cli("--out", str(tmp_path), "--train", "-5")
    assert result.returncode == 2
    assert "argument --train: must be a whole number >= 0, got '-5'" in result.stderr
    assert not (tmp_path / "train.jsonl").exists()
