"""Splitting annotated files into train and dev by document (model/split.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from model.readers import read_examples, write_jsonl
from model.sample_data import generate_examples
from model.split import document_key, main, split_by_document


def squad_file(path, articles: int = 6, paragraphs: int = 2) -> None:
    """Articles of two paragraphs with two questions each; the title names the article."""
    data = []
    for a in range(articles):
        items = []
        for p in range(paragraphs):
            context = f"第{a}篇第{p}段：张三住在北京。"
            qas = [
                {
                    "id": f"a{a}p{p}q{q}",
                    "question": "张三住在哪里？",
                    "answers": [{"text": "北京", "answer_start": context.index("北京")}],
                }
                for q in range(2)
            ]
            items.append({"context": context, "qas": qas})
        data.append({"title": f"文章{a}", "paragraphs": items})
    path.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")


def test_generated_passages_stay_on_one_side_and_nothing_is_lost() -> None:
    examples = generate_examples(300, seed=2)
    train, dev = split_by_document(examples, 0.2, seed=0)
    assert sorted(e.id for e in train + dev) == sorted(e.id for e in examples)
    assert not {document_key(e) for e in train} & {document_key(e) for e in dev}
    # whole documents are added until dev reaches its share, so it overshoots by < 1 document
    largest = max(Counter(document_key(e) for e in examples).values())
    assert 60 <= len(dev) < 60 + largest
    ids = [e.id for e in examples]
    assert [e.id for e in dev] == [i for i in ids if i in {e.id for e in dev}]


def test_same_seed_same_split_other_seed_other_split() -> None:
    examples = generate_examples(200, seed=4)
    first = split_by_document(examples, 0.25, seed=1)
    assert split_by_document(examples, 0.25, seed=1) == first
    assert split_by_document(examples, 0.25, seed=2)[1] != first[1]


def test_articles_are_split_by_title_not_by_paragraph(tmp_path) -> None:
    squad_file(tmp_path / "set.json")
    examples = read_examples(tmp_path / "set.json")
    assert {document_key(e) for e in examples} == {f"title:文章{a}" for a in range(6)}
    train, dev = split_by_document(examples, 0.3, seed=0)
    # 24 questions, 4 per article: dev takes whole articles until it holds >= 7.2 questions
    assert len(dev) == 8
    assert len({e.extra["title"] for e in dev}) == 2
    assert not {e.extra["title"] for e in train} & {e.extra["title"] for e in dev}


@pytest.mark.parametrize(
    ("fraction", "message"),
    [(0, "dev fraction must be between 0 and 1, got 0"), (1.5, "got 1.5")],
)
def test_bad_fraction_is_refused(fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_by_document(generate_examples(20, seed=0), fraction)


def test_one_document_cannot_be_split() -> None:
    examples = generate_examples(40, seed=0)
    one = [e for e in examples if e.passage == examples[0].passage]
    with pytest.raises(ValueError, match="at least 2 documents to split, got 1"):
        split_by_document(one, 0.5)


def test_command_writes_files_the_readers_read_back(tmp_path) -> None:
    squad_file(tmp_path / "a.json")
    jsonl = write_jsonl(generate_examples(30, seed=5), tmp_path / "b.jsonl")
    out = tmp_path / "split"
    assert main([str(tmp_path / "a.json"), str(jsonl), "--out", str(out), "--seed", "3"]) == 0
    train, dev = read_examples(out / "train.jsonl"), read_examples(out / "dev.jsonl")
    originals = read_examples(tmp_path / "a.json") + read_examples(jsonl)
    assert sorted(train + dev, key=lambda e: e.id) == sorted(originals, key=lambda e: e.id)
    assert dev and train


def test_command_refuses_repeated_ids_and_missing_files(tmp_path, capsys) -> None:
    jsonl = write_jsonl(generate_examples(10, seed=5), tmp_path / "b.jsonl")
    assert main([str(jsonl), str(jsonl), "--out", str(tmp_path / "o")]) == 2
    assert "10 question ids appear more than once" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.json"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
