"""Queries to predictions: encode -> window rows -> bounded predict calls -> decode.

All windows of all queries of a request go to the model server in calls of at most
``batch_rows`` rows, sent concurrently; each query's windows are then decoded together, so
answers of a long passage found in several windows are merged by the contract's decoder.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

import numpy as np

from contract.decode import Prediction, WindowOutputs, decode
from contract.encode import EncodedExample
from contract.tensors import batch_inputs, window_rows
from web.backends import Backend
from web.errors import BackendFailed, VersionMissing
from web.validation import Query
from web.versions import Deadline, ServedVersion, VersionTracker

log = logging.getLogger(__name__)

PREDICT_SIGNATURE = "serving_default"
INLINE_CHARS = 1024
"""Requests with at most this many passage characters are encoded on the event loop."""
T = TypeVar("T")

BackendTimer = Callable[[float], None]
"""Called with the seconds each predict call took."""


def encode_queries(served: ServedVersion, queries: Sequence[Query]) -> list[EncodedExample]:
    return served.encoder.encode_many([(q.question, q.passage) for q in queries])


def decode_queries(
    served: ServedVersion,
    queries: Sequence[Query],
    encoded: Sequence[EncodedExample],
    outputs: WindowOutputs,
) -> list[Prediction]:
    """Each query decoded from its own windows' rows, with its own ``top_k``/``min_score``."""
    config = served.contract.config
    predictions = []
    row = 0
    for query, example in zip(queries, encoded, strict=True):
        count = len(example.windows)
        min_score, fallback_min_score = config.thresholds(query.min_score)
        predictions.append(
            decode(
                example,
                outputs.rows(row, count),
                top_k=query.top_k if query.top_k is not None else config.top_k,
                min_score=min_score,
                fallback_min_score=fallback_min_score,
            )
        )
        row += count
    return predictions


async def predict_rows(
    backend: Backend,
    served: ServedVersion,
    encoded: Sequence[EncodedExample],
    batch_rows: int,
    deadline: Deadline,
    on_backend_call: BackendTimer,
) -> WindowOutputs:
    """The model's outputs for every window row, in row order."""
    rows = window_rows(encoded)
    chunks = [rows[i : i + batch_rows] for i in range(0, len(rows), batch_rows)]

    async def call(chunk: list) -> dict[str, np.ndarray]:
        inputs = batch_inputs(chunk, served.contract.config)
        started = time.perf_counter()
        try:
            return await backend.predict(
                inputs, served.version, PREDICT_SIGNATURE, deadline.remaining()
            )
        finally:
            on_backend_call(time.perf_counter() - started)

    outputs = WindowOutputs()
    answers = await asyncio.gather(*(call(chunk) for chunk in chunks))
    for chunk, named in zip(chunks, answers, strict=True):
        try:
            outputs.add(named, len(chunk))
        except ValueError as error:
            raise BackendFailed(f"unexpected predict response: {error}") from error
    return outputs


async def extract_pinned(
    queries: Sequence[Query],
    served: ServedVersion,
    backend: Backend,
    batch_rows: int,
    deadline: Deadline,
    executor: Executor | None,
    on_backend_call: BackendTimer,
) -> list[Prediction]:
    """Predictions of one fixed version. A large request is encoded and decoded in
    ``executor`` so it does not stall the event loop; a small one (about 5 ms for 512
    characters) runs inline, which saves two thread hand-offs."""
    offload = executor if sum(len(q.passage) for q in queries) > INLINE_CHARS else None
    encoded = await _run(offload, encode_queries, served, queries)
    outputs = await predict_rows(backend, served, encoded, batch_rows, deadline, on_backend_call)
    return await _run(offload, decode_queries, served, queries, encoded, outputs)


async def _run(executor: Executor | None, function: Callable[..., T], *args: Any) -> T:
    if executor is None:
        return function(*args)
    return await asyncio.get_running_loop().run_in_executor(executor, function, *args)


async def extract(
    queries: Sequence[Query],
    tracker: VersionTracker,
    backend: Backend,
    *,
    batch_rows: int,
    deadline: Deadline,
    executor: Executor | None = None,
    on_backend_call: BackendTimer = lambda seconds: None,
    on_retry: Callable[[], None] = lambda: None,
) -> tuple[list[Prediction], ServedVersion]:
    """Predictions in query order, and the version that made them. If the pinned version
    disappears mid-request (a newer one replaced it), the request is encoded again for the
    new version and retried once."""
    served = await tracker.pinned(deadline)
    args = (backend, batch_rows, deadline, executor, on_backend_call)
    try:
        return await extract_pinned(queries, served, *args), served
    except VersionMissing:
        log.info("version %d vanished mid-request; retrying on the newest", served.version)
        on_retry()
        served = await tracker.replacement(served, deadline)
        return await extract_pinned(queries, served, *args), served
