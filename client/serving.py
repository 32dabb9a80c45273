"""Answers from TF Serving called directly: the web layer's pipeline in the caller's process.

On first use a client pins one model version: the one asked for, or else the newest AVAILABLE
one (one model-status call). It fetches that version's contract with a predict call on the
model's ``contract`` signature, and from then on sends every request to that version
(``/versions/N``), encoded with that contract, so answers never mix one version's
preprocessing with another's weights. Window rows travel in predict calls of at most
``batch_rows`` rows, as the web layer sends them, and the shared decoder turns the outputs
into answers: a version answers through this client exactly as through the web layer (bit for
bit when both use the same ``batch_rows``, since a row's floats depend slightly on its batch).

The transport (REST or gRPC) is a small object behind ``Transport``; ``client.serving_rest``
and ``client.serving_grpc`` put the two together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from client.errors import ClientError
from client.results import Extraction, ModelMetadata, ModelVersion, Query, VersionStatus, as_queries
from contract.decode import WindowOutputs, decode
from contract.encode import EncodedExample, Encoder
from contract.served import ServedContract
from contract.tensors import (
    batch_inputs,
    window_rows,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "rc"
DEFAULT_BATCH_ROWS = 32
PREDICT_SIGNATURE = "serving_default"
CONTRACT_SIGNATURE = "contract"
CONTRACT_QUERY = "query"
CONTRACT_OUTPUT = "contract_json"


class Transport(Protocol):
    """TF Serving's model-status, metadata and predict calls over one protocol."""

    @property
    def where(self) -> str:
        """The API and its address, for messages."""

    def model_status(self, model: str) -> list[VersionStatus]:
        """Every version the server knows of ``model``."""

    def metadata(self, model: str, version: int) -> ModelMetadata: ...

    def predict(
        self,
        model: str,
        version: int,
        signature: str,
        inputs: Mapping[str, np.ndarray],
        output_names: tuple[str, ...] = (),
    ) -> dict[str, np.ndarray]:
        """Outputs by name; ``output_names`` names (and on gRPC filters) the outputs wanted."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class PinnedVersion:
    """The version a client calls, with the contract it encodes and decodes by."""

    model: ModelVersion
    contract: ServedContract
    encoder: Encoder


def _checked_options(top_k: int | None, min_score: float | None) -> None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer of at least 1, got {top_k!r}")
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be from 0 to 1, got {min_score!r}")


class ServingClient:
    """``ask`` / ``ask_questions`` / ``ask_batch``, ``model_status`` and ``metadata`` of one
    model on TF Serving. Thread-safe: threads may share one client (the pin happens once)."""

    def __init__(
        self,
        transport: Transport,
        model: str = DEFAULT_MODEL,
        *,
        version: int | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        if version is not None and version < 0:
            raise ValueError(f"a model version is a number of at least 0, got {version}")
        self.model_name = model
        self.batch_rows = batch_rows
        self._transport = transport
        self._wanted_version = version
        self._pinned: PinnedVersion | None = None
        self._pin_lock = threading.Lock()

    @property
    def where(self) -> str:
        return self._transport.where

    # ---------------------------------------------------------------- status and metadata

    def model_status(self) -> list[VersionStatus]:
        """Every version of the model the server knows, newest first, with its state."""
        statuses = self._transport.model_status(self.model_name)
        return sorted(statuses, key=lambda status: status.version, reverse=True)

    def metadata(self) -> ModelMetadata:
        """The signatures of the pinned version."""
        return self._transport.metadata(self.model_name, self.pinned().model.version)

    def contract(self) -> ServedContract:
        """The contract of the pinned version (settings, defaults, the training summary)."""
        return self.pinned().contract

    def pinned(self) -> PinnedVersion:
        """The version this client calls; pinned on the first call that needs it."""
        with self._pin_lock:
            if self._pinned is None:
                self._pinned = self._pin()
            return self._pinned

    def _pin(self) -> PinnedVersion:
        version = self._wanted_version
        if version is None:
            version = self._newest_available()
        contract = self._fetch_contract(version)
        pinned = PinnedVersion(ModelVersion(self.model_name, version), contract, contract.encoder())
        log.info("pinned %s version %d at %s", self.model_name, version, self.where)
        return pinned

    def _newest_available(self) -> int:
        statuses = self.model_status()
        available = [s.version for s in statuses if s.available]
        if not available:
            states = ", ".join(f"version {s.version} {s.state}" for s in statuses) or "none"
            raise ClientError(
                f"{self.where} serves no AVAILABLE version of model {self.model_name!r} ({states})"
            )
        return available[0]

    def _fetch_contract(self, version: int) -> ServedContract:
        outputs = self._transport.predict(
            self.model_name,
            version,
            CONTRACT_SIGNATURE,
            {CONTRACT_QUERY: np.array([""], dtype=object)},
            (CONTRACT_OUTPUT,),
        )
        try:
            return ServedContract.from_json(str(outputs[CONTRACT_OUTPUT].reshape(-1)[0]))
        except (KeyError, IndexError, ValueError) as error:
            raise ClientError(
                f"version {version} of model {self.model_name!r} at {self.where} has no usable "
                f"contract: {error}"
            ) from error

    # ---------------------------------------------------------------- answers

    def ask(
        self,
        question: str,
        passage: str,
        *,
        top_k: int | None = None,
        min_score: float | None = None,
    ) -> Extraction:
        return self.ask_batch([Query(question, passage, top_k, min_score)])[0]

    def ask_questions(
        self,
        questions: Sequence[str],
        passage: str,
        *,
        top_k: int | None = None,
        min_score: float | None = None,
    ) -> list[Extraction]:
        _checked_options(top_k, min_score)
        pinned = self.pinned()
        encoded = pinned.encoder.encode_questions(list(questions), passage)
        queries = [Query(question, passage, top_k, min_score) for question in questions]
        return self._answers(pinned, queries, encoded)

    def ask_batch(self, items: Iterable[Query | tuple[str, str]]) -> list[Extraction]:
        queries = as_queries(items)
        for query in queries:
            _checked_options(query.top_k, query.min_score)
        pinned = self.pinned()
        encoded = pinned.encoder.encode_many([(q.question, q.passage) for q in queries])
        return self._answers(pinned, queries, encoded)

    def _answers(
        self, pinned: PinnedVersion, queries: Sequence[Query], encoded: Sequence[EncodedExample]
    ) -> list[Extraction]:
        """Each query decoded from its own windows, with its own ``top_k``/``min_score``."""
        outputs = self._predict_rows(pinned, encoded)
        config = pinned.contract.config
        extractions = []
        row = 0
        for query, example in zip(queries, encoded, strict=True):
            count = len(example.windows)
            min_score, fallback_min_score = config.thresholds(query.min_score)
            prediction = decode(
                example,
                outputs.rows(row, count),
                top_k=config.top_k if query.top_k is None else query.top_k,
                min_score=min_score,
                fallback_min_score=fallback_min_score,
            )
            extractions.append(Extraction.from_prediction(prediction, pinned.model))
            row += count
        return extractions

    def _predict_rows(
        self, pinned: PinnedVersion, encoded: Sequence[EncodedExample]
    ) -> WindowOutputs:
        """The model's outputs for every window row, in row order."""
        rows = window_rows(encoded)
        collected = WindowOutputs()
        for first in range(0, len(rows), self.batch_rows):
            chunk = rows[first : first + self.batch_rows]
            outputs = self._transport.predict(
                self.model_name,
                pinned.model.version,
                PREDICT_SIGNATURE,
                batch_inputs(chunk, pinned.contract.config),
            )
            try:
                collected.add(outputs, len(chunk))
            except ValueError as error:
                raise ClientError(
                    f"{self.where} sent an unexpected predict answer: {error}"
                ) from error
        return collected

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
