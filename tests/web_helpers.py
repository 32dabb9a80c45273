"""Helpers for the web tests: the test model's questions, a model server, web apps in threads.

Web apps run in-process, each on its own event loop in a thread, so a module can start several
(REST, gRPC, misconfigured) cheaply. The fixtures built from these live in tests/web_fixtures.py.
To serve a trained model instead of random weights, change ``build_run`` only.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from tests.run_fixtures import make_untrained_run
from tests.serving_helpers import ServerProcess
from web.app import WebServer
from web.config import Limits, WebConfig

MODEL_NAME = "rc"
READY_TIMEOUT_S = 60.0

# With UNTRAINED_SEED's weights the network answers all but the last of QUESTIONS about
# PASSAGE with spans (scores about 0.35, so tests ask with min_score 0) and the last with "no".
PASSAGE = (
    "被告人张三，男，1990年3月5日出生，住北京市朝阳区建国路88号。"
    "被告人李四于2019年5月12日在上海市浦东新区盗窃人民币3,500元。"
)
QUESTIONS = (
    "被告人是谁？",
    "金额是多少？",
    "谁盗窃了？",
    "张三住在哪里？",
    "李四盗窃了多少钱？",
    "出生日期？",
    "原告是谁",
)
UNTRAINED_SEED = 9


def build_run(run_dir: Path) -> Path:
    """The training run the web tests serve (swap in a trained run here)."""
    import keras

    keras.utils.set_random_seed(UNTRAINED_SEED)
    return make_untrained_run(run_dir)


def copy_version(models: Path, source: int, target: int) -> Path:
    """Publish a copy of a version under a new number the way the exporter does (hidden name,
    then rename), so a polling server never sees half of it."""
    base = models / MODEL_NAME
    staging = base / f".copy-{target}"
    shutil.copytree(base / str(source), staging)
    staging.rename(base / str(target))
    return base / str(target)


def start_model_server(models: Path, log_path: Path) -> ServerProcess:
    server = ServerProcess(
        [
            f"--model_name={MODEL_NAME}",
            f"--model_base_path={models / MODEL_NAME}",
            "--file_system_poll_wait_seconds=1",
        ],
        log_path,
    )
    return server.wait_ready()


TEST_LIMITS = Limits(
    max_body_bytes=65_536,
    max_passage_chars=3_000,
    max_question_chars=64,
    max_items=8,
    max_request_chars=6_000,
    max_top_k=10,
)


def web_config(server: ServerProcess, backend: str, **overrides: Any) -> WebConfig:
    """A web app on a free loopback port talking to ``server``."""
    config = WebConfig(
        port=0,
        address="127.0.0.1",
        backend=backend,
        rest_url=server.url,
        grpc_target=f"127.0.0.1:{server.grpc_port}",
        model_name=MODEL_NAME,
        deadline_s=20.0,
        version_poll_s=0.5,
        batch_rows=4,
        log_level="WARNING",
        limits=TEST_LIMITS,
    )
    return replace(config, **overrides)


class WebAppThread:
    """A web app on its own event loop in a daemon thread."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.server: WebServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.server = await WebServer.start(self.config)
        except BaseException as error:
            self._error = error
            raise
        finally:
            self._started.set()
        await self._stop.wait()
        await self.server.stop()

    def start(self) -> WebAppThread:
        self._thread.start()
        self._started.wait(READY_TIMEOUT_S)
        if self._error is not None or self.server is None:
            raise RuntimeError(f"web app did not start: {self._error!r}")
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> WebAppThread:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if requests.get(self.url + "/readyz", timeout=10).status_code == 200:
                return self
            time.sleep(0.1)
        raise AssertionError(f"web app at {self.url} not ready in {timeout_s}s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)


def without_timing(document: dict) -> dict:
    """A response body less ``took_ms``, for comparing answers."""
    return {k: v for k, v in document.items() if k != "took_ms"}


def metric(app: WebAppThread, name: str, **labels: str) -> float:
    """One sample of the app's /metrics (0 when the labelled series does not exist yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(app.url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0
