"""Split annotated files into training and dev files by document.

A user who brings one annotated file still needs a held-out set: training chooses its best
epoch and its span thresholds on dev. Questions about the same document must stay on one side,
or dev measures memory of the passage rather than reading; a document is the article title, the
case id, or else the passage itself.

Run: python -m model.split FILE [FILE ...] --out DIR [--dev-fraction 0.1] [--seed 0]
writes DIR/train.jsonl and DIR/dev.jsonl (JSON Lines that every reader accepts).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from contract.examples import QAExample
from model.readers import read_examples, repeated_ids, write_jsonl

logger = logging.getLogger(__name__)

DOCUMENT_FIELDS = ("caseid", "title")
"""Extra fields naming the document a passage comes from, most specific first."""


def document_key(example: QAExample) -> str:
    """The document ``example`` belongs to: its case id or article title, else its passage."""
    for name in DOCUMENT_FIELDS:
        if example.extra.get(name):
            return f"{name}:{example.extra[name]}"
    return f"passage:{example.passage}"


def split_by_document(
    examples: Sequence[QAExample], dev_fraction: float, seed: int = 0
) -> tuple[list[QAExample], list[QAExample]]:
    """(train, dev): whole documents, drawn in a seeded order, go to dev until it holds at least
    ``dev_fraction`` of the questions; both keep the input order."""
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev fraction must be between 0 and 1, got {dev_fraction}")
    repeated = repeated_ids(examples)
    if repeated:
        raise ValueError(
            f"{len(repeated)} question ids appear more than once (e.g. {repeated[0]!r}); "
            "the files written must have unique ids"
        )
    keys = [document_key(example) for example in examples]
    sizes = Counter(keys)  # documents in first-seen order, with their question counts
    if len(sizes) < 2:
        raise ValueError(f"need questions about at least 2 documents to split, got {len(sizes)}")
    documents = list(sizes)
    random.Random(seed).shuffle(documents)
    wanted = dev_fraction * len(examples)
    dev_documents: set[str] = set()
    held = 0
    for key in documents[:-1]:  # the last document always trains
        if held >= wanted:
            break
        dev_documents.add(key)
        held += sizes[key]
    in_dev = [key in dev_documents for key in keys]
    train = [example for example, held_out in zip(examples, in_dev, strict=True) if not held_out]
    dev = [example for example, held_out in zip(examples, in_dev, strict=True) if held_out]
    return train, dev


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model.split", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("files", nargs="+", type=Path, help="SQuAD-style JSON or JSON Lines")
    parser.add_argument("--out", required=True, type=Path, help="folder for train/dev.jsonl")
    parser.add_argument("--dev-fraction", type=float, default=0.1, help="share of questions")
    parser.add_argument("--seed", type=int, default=0, help="seed of the document order")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    try:
        examples = [example for path in args.files for example in read_examples(path, strict=False)]
        train, dev = split_by_document(examples, args.dev_fraction, args.seed)
    except (OSError, ValueError) as error:  # ReaderError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("dev", dev)):
        path = write_jsonl(part, args.out / f"{name}.jsonl")
        documents = len({document_key(example) for example in part})
        logger.info("%s: %d questions about %d documents", path, len(part), documents)
    return 0


if __name__ == "__main__":
    sys.exit(main())
