"""In-process prediction with a Keras model: the reference the served model is compared to."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from contract.config import ContractConfig
from contract.decode import Prediction, WindowOutputs, decode_rows
from contract.encode import EncodedExample
from contract.tensors import batch_inputs, window_rows
from contract.vocab import Vocabulary
from model.dataset import id_inputs
from model.ensemble import load_network
from model.run_dir import RunConfig, load_vocabularies


class KerasPredictor:
    """Runs encoded examples through a Keras model in batches and decodes the answers."""

    def __init__(
        self,
        model,
        contract: ContractConfig,
        char_vocab: Vocabulary,
        word_vocab: Vocabulary,
        batch_size: int = 32,
    ) -> None:
        self.contract = contract
        self.char_vocab = char_vocab
        self.word_vocab = word_vocab
        self.batch_size = batch_size
        self._forward = tf.function(
            lambda inputs: model(inputs, training=False), reduce_retracing=True
        )

    @classmethod
    def from_run(cls, run_dir: Path, batch_size: int = 32) -> KerasPredictor:
        """The best checkpoint of a training run (or an ensemble), with its vocabularies and
        contract."""
        config = RunConfig.load(run_dir)
        char_vocab, word_vocab = load_vocabularies(run_dir)
        return cls(load_network(run_dir), config.contract, char_vocab, word_vocab, batch_size)

    def outputs(self, encoded: Sequence[EncodedExample]) -> WindowOutputs:
        """The model's outputs for every window row of ``encoded``, in order."""
        rows = window_rows(encoded)
        outputs = WindowOutputs()
        for begin in range(0, len(rows), self.batch_size):
            chunk = rows[begin : begin + self.batch_size]
            arrays = batch_inputs(chunk, self.contract)
            out = self._forward(id_inputs(arrays, self.char_vocab, self.word_vocab))
            outputs.add({name: value.numpy() for name, value in out.items()}, len(chunk))
        return outputs

    def predict(
        self,
        encoded: Sequence[EncodedExample],
        top_k: int | None = None,
        min_score: float | None = None,
    ) -> list[Prediction]:
        """Decoded with the contract's thresholds, or ``min_score`` as a strict cut."""
        min_score, fallback_min_score = self.contract.thresholds(min_score)
        return decode_rows(
            encoded,
            self.outputs(encoded),
            top_k=self.contract.top_k if top_k is None else top_k,
            min_score=min_score,
            fallback_min_score=fallback_min_score,
        )
