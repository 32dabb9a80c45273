"""Helpers for the client tests: the in-process reference answers, a scripted HTTP server,
a gRPC model service that answers too late.

The fixtures built on these live in tests/client_fixtures.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc

from contract.decode import Prediction, WindowOutputs, decode_rows
from contract.served import ServedContract
from contract.tensors import batch_inputs, window_rows


class SavedModelReference:
    """Answers computed in this process by the exported SavedModel itself, decoded by the
    contract: what every service must reproduce exactly for the same version."""

    def __init__(self, version_dir: Path) -> None:
        import tensorflow as tf

        self._tf = tf
        self._signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
        self.contract = ServedContract.load(version_dir)
        self.encoder = self.contract.encoder()

    def predict(
        self, question: str, passage: str, *, batch_rows: int, min_score: float | None = None
    ) -> Prediction:
        """One question alone, its windows in calls of ``batch_rows`` rows, as clients send
        them (a row's floats depend slightly on the batch it is computed in)."""
        encoded = [self.encoder.encode(question, passage)]
        rows = window_rows(encoded)
        outputs = WindowOutputs()
        for first in range(0, len(rows), batch_rows):
            chunk = rows[first : first + batch_rows]
            inputs = batch_inputs(chunk, self.contract.config)
            named = self._signature(
                **{name: self._tf.constant(array) for name, array in inputs.items()}
            )
            outputs.add({name: value.numpy() for name, value in named.items()}, len(chunk))
        config = self.contract.config
        (prediction,) = decode_rows(
            encoded,
            outputs,
            top_k=config.top_k,
            min_score=config.min_score if min_score is None else min_score,
        )
        return prediction


@dataclass(frozen=True)
class Reply:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class ScriptedServer:
    """Answers request n with ``replies[n]`` (the last one once they run out) and records
    every request as (method, path, body)."""

    replies: Sequence[Reply]
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    url: str = ""

    def next_reply(self, method: str, path: str, body: bytes) -> Reply:
        self.requests.append((method, path, body))
        return self.replies[min(len(self.requests), len(self.replies)) - 1]


def _handler(script: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            reply = script.next_reply(self.command, self.path, self.rfile.read(length))
            time.sleep(reply.delay_s)
            body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up waiting and closed the connection
                pass

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            """Quiet: the tests read ``script.requests`` instead."""

    return Handler


def start_scripted_server(replies: Sequence[Reply]) -> tuple[ScriptedServer, ThreadingHTTPServer]:
    """A scripted server on a free loopback port, serving in a daemon thread."""
    script = ScriptedServer(replies)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    return script, server


def start_slow_grpc_server(delay_s: float) -> tuple[grpc.Server, str]:
    """A real gRPC ModelService whose GetModelStatus answers after ``delay_s`` seconds."""
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    class SlowModelService(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):
            time.sleep(delay_s)
            return get_model_status_pb2.GetModelStatusResponse()

    server = grpc.server(ThreadPoolExecutor(2))
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(SlowModelService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"
