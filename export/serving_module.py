"""The tf.Module that becomes the SavedModel: signatures over the trained Keras network.

The module tracks the network's variables exactly once and calls the network through a
closure (tracking the Keras model itself saves every weight twice, keras-team/keras#23553, and
a Module that only holds the model as an attribute breaks `saved_model_cli run` and TF Serving,
tensorflow/serving#2250). Vocabularies are SavedModel assets read into lookup tables, so the
string signature maps text to ids inside the graph.

Both signatures take each row's real lengths and blank every position beyond them before the
network runs: TF Serving's server-side batching (``pad_variable_length_inputs``) pads merged
requests with the tensor's first value, which would otherwise read as real text.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from contract.tensors import (
    BOUNDARY_PROBS,
    OUTPUT_NAMES,
    PASSAGE_CHARS,
    PASSAGE_LENGTH,
    PASSAGE_MATCH,
    PASSAGE_WORDS,
    QUESTION_CHARS,
    QUESTION_LENGTH,
    QUESTION_WORDS,
)
from contract.vocab import FIRST_TOKEN_ID, PAD_ID, UNKNOWN_ID
from model.dataset import ID_INPUTS

QA_SIGNATURE = "qa"
QA_IDS_SIGNATURE = "qa_ids"
CONTRACT_SIGNATURE = "contract"
CONTRACT_QUERY = "query"
CONTRACT_OUTPUT = "contract_json"

_TEXT = tf.TensorSpec([None, None], tf.string)
_IDS = tf.TensorSpec([None, None], tf.int32)
_MATCH = tf.TensorSpec([None, None, 2], tf.float32, name=PASSAGE_MATCH)
_LENGTHS = {
    name: tf.TensorSpec([None], tf.int32, name=name) for name in (PASSAGE_LENGTH, QUESTION_LENGTH)
}


def _named(spec: tf.TensorSpec, name: str) -> tf.TensorSpec:
    return tf.TensorSpec(spec.shape, spec.dtype, name=name)


TEXT_SIGNATURE = (
    {
        name: _named(_TEXT, name)
        for name in (PASSAGE_CHARS, PASSAGE_WORDS, QUESTION_CHARS, QUESTION_WORDS)
    }
    | {PASSAGE_MATCH: _MATCH}
    | _LENGTHS
)
ID_SIGNATURE = (
    {name: _named(_IDS, name) for name in ID_INPUTS.values()} | {PASSAGE_MATCH: _MATCH} | _LENGTHS
)
PASSAGE_ID_INPUTS = (ID_INPUTS[PASSAGE_CHARS], ID_INPUTS[PASSAGE_WORDS])
QUESTION_ID_INPUTS = (ID_INPUTS[QUESTION_CHARS], ID_INPUTS[QUESTION_WORDS])


def _within(lengths: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """[batch, length] booleans: True at positions before each row's length."""
    return tf.range(tf.shape(like)[1])[tf.newaxis, :] < lengths[:, tf.newaxis]


def _vocabulary_table(asset: tf.saved_model.Asset) -> tf.lookup.StaticHashTable:
    initializer = tf.lookup.TextFileInitializer(
        asset,
        key_dtype=tf.string,
        key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
        value_dtype=tf.int64,
        value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
    )
    return tf.lookup.StaticHashTable(initializer, default_value=-1)


class QAServingModule(tf.Module):
    def __init__(
        self, network: keras.Model, chars_file: Path, words_file: Path, contract_json: str
    ) -> None:
        super().__init__(name="rc_qa")
        self.network_variables = [w.value for w in network.weights]
        self._run = lambda inputs: network(inputs, training=False)
        self.char_asset = tf.saved_model.Asset(str(chars_file))
        self.word_asset = tf.saved_model.Asset(str(words_file))
        self.char_table = _vocabulary_table(self.char_asset)
        self.word_table = _vocabulary_table(self.word_asset)
        self._contract_json = contract_json
        self.qa = tf.function(self._qa, input_signature=[TEXT_SIGNATURE])
        self.qa_ids = tf.function(self._qa_ids, input_signature=[ID_SIGNATURE])
        self.contract = tf.function(
            self._contract,
            input_signature=[tf.TensorSpec([None], tf.string, name=CONTRACT_QUERY)],
        )

    @staticmethod
    def _ids(table: tf.lookup.StaticHashTable, tokens: tf.Tensor) -> tf.Tensor:
        """'' -> padding, unseen -> unknown, line n of the vocabulary file -> n + 2."""
        found = table.lookup(tokens)
        ids = tf.where(found < 0, tf.constant(UNKNOWN_ID, tf.int64), found + FIRST_TOKEN_ID)
        return tf.cast(tf.where(tokens == "", tf.constant(PAD_ID, tf.int64), ids), tf.int32)

    def _qa(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        tables = {
            PASSAGE_CHARS: self.char_table,
            QUESTION_CHARS: self.char_table,
            PASSAGE_WORDS: self.word_table,
            QUESTION_WORDS: self.word_table,
        }
        ids = {ID_INPUTS[n]: self._ids(table, inputs[n]) for n, table in tables.items()}
        passthrough = (PASSAGE_MATCH, PASSAGE_LENGTH, QUESTION_LENGTH)
        return self._qa_ids(ids | {name: inputs[name] for name in passthrough})

    def _qa_ids(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        in_passage = _within(inputs[PASSAGE_LENGTH], inputs[PASSAGE_MATCH])
        in_question = _within(inputs[QUESTION_LENGTH], inputs[QUESTION_ID_INPUTS[0]])
        network_inputs = {
            PASSAGE_MATCH: tf.where(in_passage[..., tf.newaxis], inputs[PASSAGE_MATCH], 0.0)
        }
        for name in PASSAGE_ID_INPUTS:
            network_inputs[name] = tf.where(in_passage, inputs[name], PAD_ID)
        for name in QUESTION_ID_INPUTS:
            network_inputs[name] = tf.where(in_question, inputs[name], PAD_ID)
        out = self._run(network_inputs)
        names = [*OUTPUT_NAMES, *([BOUNDARY_PROBS] if BOUNDARY_PROBS in out else [])]
        return {name: tf.identity(out[name], name=name) for name in names}

    def _contract(self, query: tf.Tensor) -> dict[str, tf.Tensor]:
        """The preprocessing contract of this version, so a client that reaches only the
        server (no model files) can still encode inputs the way this version expects."""
        text = tf.constant(self._contract_json)
        return {CONTRACT_OUTPUT: tf.fill(tf.shape(query), text)}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        qa = self.qa.get_concrete_function()
        return {
            "serving_default": qa,
            QA_SIGNATURE: qa,
            QA_IDS_SIGNATURE: self.qa_ids.get_concrete_function(),
            CONTRACT_SIGNATURE: self.contract.get_concrete_function(),
        }
