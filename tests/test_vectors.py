"""Word vectors: the file formats read, the vocabulary they extend, and how rows are filled."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from gensim.models import KeyedVectors

from contract.vocab import FIRST_TOKEN_ID, PAD_ID, UNKNOWN_ID, Vocabulary
from model.network import WORD_EMBEDDING_LAYER, build_model
from model.run_dir import BEST_WEIGHTS, WORDS, RunConfig
from model.vectors import (
    embedding_matrix,
    load_vectors,
    restrict_vectors,
    unit_mean_norm,
    words_beyond,
)
from tests.test_train import run

WORDS_AND_VECTORS = {
    "被告人": [1.0, 0.0, 0.0],
    "法院": [0.0, 1.0, 0.0],
    "住": [0.0, 0.0, 1.0],
    "址": [0.0, 0.0, 3.0],
    "魑魅": [0.5, 0.5, 0.5],
}


def keyed_vectors() -> KeyedVectors:
    vectors = KeyedVectors(3)
    vectors.add_vectors(list(WORDS_AND_VECTORS), np.array(list(WORDS_AND_VECTORS.values())))
    return vectors


def word2vec_text() -> str:
    rows = [f"{w} {' '.join(str(x) for x in v)}" for w, v in WORDS_AND_VECTORS.items()]
    return f"{len(rows)} 3\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("name", ["v.txt", "v.vec", "v.txt.gz", "v.bin", "v.kv"])
def test_each_format_is_read_with_its_words_in_file_order(tmp_path, name) -> None:
    path = tmp_path / name
    if name.endswith(".bin"):
        keyed_vectors().save_word2vec_format(str(path), binary=True)
    elif name.endswith(".kv"):
        keyed_vectors().save(str(path))
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(word2vec_text().encode("utf-8")))
    else:
        path.write_text(word2vec_text(), encoding="utf-8")
    vectors = load_vectors(path)
    assert vectors.index_to_key == list(WORDS_AND_VECTORS)
    np.testing.assert_allclose(vectors["址"], [0.0, 0.0, 3.0])


def test_a_missing_vectors_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"word vectors not found: .*absent\.bin"):
        load_vectors(tmp_path / "absent.bin")


def test_restricting_keeps_only_the_needed_words_the_vectors_have() -> None:
    subset = restrict_vectors(keyed_vectors(), ["法院", "没有的词", "住", "法院"])
    assert subset.index_to_key == ["法院", "住"]
    np.testing.assert_allclose(subset["住"], [0.0, 0.0, 1.0])


def test_words_beyond_the_vocabulary_come_in_file_order_up_to_the_count() -> None:
    vocab = Vocabulary(["法院", "住"])
    assert words_beyond(vocab, keyed_vectors(), 2) == ["被告人", "址"]
    assert words_beyond(vocab, keyed_vectors(), 10) == ["被告人", "址", "魑魅"]
    assert words_beyond(vocab, keyed_vectors(), 0) == []


def test_words_with_white_space_are_not_added() -> None:
    vectors = KeyedVectors(2)
    vectors.add_vectors(["a b", "\u3000", "词"], np.ones((3, 2)))
    assert words_beyond(Vocabulary([]), vectors, 5) == ["词"]


def test_scaling_gives_a_mean_length_of_one_and_keeps_directions() -> None:
    scaled = unit_mean_norm(keyed_vectors())
    assert scaled.index_to_key == list(WORDS_AND_VECTORS)
    np.testing.assert_allclose(np.linalg.norm(scaled.vectors, axis=1).mean(), 1.0, rtol=1e-6)
    mean_length = np.mean([np.linalg.norm(v) for v in WORDS_AND_VECTORS.values()])
    np.testing.assert_allclose(scaled["址"], np.array([0.0, 0.0, 3.0]) / mean_length, rtol=1e-6)
    assert len(unit_mean_norm(KeyedVectors(3))) == 0


def test_rows_are_the_vectors_else_the_mean_of_the_characters_else_random() -> None:
    vocab = Vocabulary(["被告人", "住址", "魍魉"])
    matrix, counts = embedding_matrix(vocab, keyed_vectors(), seed=0)
    assert counts == {"found": 1, "from_chars": 1, "random": 1}
    assert matrix.shape == (len(vocab), 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[PAD_ID], 0.0)
    np.testing.assert_array_equal(matrix[UNKNOWN_ID], 0.0)
    np.testing.assert_allclose(matrix[FIRST_TOKEN_ID], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(matrix[FIRST_TOKEN_ID + 1], [0.0, 0.0, 2.0])
    assert np.abs(matrix[FIRST_TOKEN_ID + 2]).sum() > 0.0
    again, _ = embedding_matrix(vocab, keyed_vectors(), seed=0)
    np.testing.assert_array_equal(matrix, again)


def test_training_adds_the_vectors_words_and_loads_them(generated_split, tmp_path) -> None:
    path = tmp_path / "v.txt"
    path.write_text(word2vec_text(), encoding="utf-8")
    out = tmp_path / "run"
    vectors = ["--vectors", str(path), "--vector-words", "2"]
    assert run(generated_split, out, "--epochs", "1", *vectors) == 0
    words = Vocabulary.load(out / WORDS)
    # the training words first, then the first two vector words training never saw
    training_words = words.tokens[:-2]
    assert "被告人" in training_words and "魑魅" not in training_words
    unseen = [w for w in WORDS_AND_VECTORS if w not in training_words]
    assert list(words.tokens[-2:]) == unseen[:2]
    config = RunConfig.load(out).model
    assert (config.word_dim, config.word_vocab_size) == (3, len(words))
    network = build_model(config)
    network.load_weights(out / BEST_WEIGHTS)
    table = network.get_layer(WORD_EMBEDDING_LAYER).get_weights()[0]
    # the kept vectors, scaled to a mean length of 1
    kept = [np.array(v) for w, v in WORDS_AND_VECTORS.items() if w in words.tokens]
    scale = np.mean([np.linalg.norm(v) for v in kept])
    for word in unseen[:2]:
        row = words.lookup(np.array([word]))[0]
        np.testing.assert_allclose(table[row], np.array(WORDS_AND_VECTORS[word]) / scale, rtol=1e-6)


def test_vector_words_without_a_vectors_file_is_refused(generated_split, tmp_path, capsys) -> None:
    assert run(generated_split, tmp_path / "run", "--vector-words", "10") == 2
    err = capsys.readouterr().err
    assert err == "error: --vector-words adds words of --vectors FILE; give the file\n"


def test_with_word2vec_each_word_gets_both_vectors_side_by_side(generated_split, tmp_path) -> None:
    path = tmp_path / "v.txt"
    path.write_text(word2vec_text(), encoding="utf-8")
    out = tmp_path / "run"
    vectors = ["--vectors", str(path), "--with-word2vec"]
    assert run(generated_split, out, "--epochs", "1", *vectors) == 0
    config = RunConfig.load(out).model
    assert config.word_dim == 8 + 3  # TINY's --word-dim, then the file's
    network = build_model(config)
    network.load_weights(out / BEST_WEIGHTS)
    table = network.get_layer(WORD_EMBEDDING_LAYER).get_weights()[0]
    words = Vocabulary.load(out / WORDS)
    kept = [np.array(v) for w, v in WORDS_AND_VECTORS.items() if w in words.tokens]
    scale = np.mean([np.linalg.norm(v) for v in kept])
    row = words.lookup(np.array(["被告人"]))[0]
    np.testing.assert_allclose(table[row, 8:], np.array([1.0, 0.0, 0.0]) / scale, rtol=1e-6)
    assert np.abs(table[row, :8]).sum() > 0.0  # and its word2vec vector, trained here


def test_with_word2vec_without_a_vectors_file_is_refused(generated_split, tmp_path, capsys) -> None:
    assert run(generated_split, tmp_path / "run", "--with-word2vec") == 2
    err = capsys.readouterr().err
    assert err == "error: --with-word2vec adds word2vec to --vectors FILE; give the file\n"
