"""Fixtures shared across the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

# The serving fixtures (test SavedModels, one shared local server) start once per session.
pytest_plugins = ["tests.serving_fixtures"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip when this checkout has none beside it."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def generated_split(tmp_path_factory) -> tuple[Path, Path]:
    """Generated records for small training runs: 60 training and 20 dev questions (JSONL)."""
    from model.readers import write_jsonl
    from model.sample_data import generate_examples

    folder = tmp_path_factory.mktemp("generated")
    train = write_jsonl(generate_examples(60, 1, split="train"), folder / "train.jsonl")
    dev = write_jsonl(generate_examples(20, 1, split="dev"), folder / "dev.jsonl")
    return train, dev
