"""Backend failures: down -> 503, too slow -> 504 within the deadline, never a hung request."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.serving_helpers import free_port
from tests.web_helpers import PASSAGE, TEST_LIMITS, WebAppThread, metric, web_config
from web.backends.rest_backend import _checked
from web.errors import BackendFailed, BackendTimeout, BackendUnavailable, VersionMissing
from web.http_pool import HttpResponse

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.slow
BODY = {"question": "谁", "passage": PASSAGE}
DEADLINE_S = 0.5
MARGIN_S = 1.0  # scheduling slack on a shared two-core machine


def targets(port: int) -> dict[str, str]:
    return {"rest_url": f"http://127.0.0.1:{port}", "grpc_target": f"127.0.0.1:{port}"}


@pytest.fixture(scope="module")
def black_hole() -> Iterator[int]:
    """A port whose socket accepts connections (kernel backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def timed_post(app: WebAppThread) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(app.url + "/v1/extract", json=BODY, timeout=30)
    return response, time.monotonic() - started


@pytest.mark.parametrize("backend", ["rest", "grpc"])
def test_a_down_backend_gives_503(web_model_server, web_apps, backend: str) -> None:
    port = free_port()
    app = web_apps(web_config(web_model_server, backend, **targets(port)), ready=False)
    response, _ = timed_post(app)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "backend_unavailable"
    if backend == "rest":
        assert error["message"] == f"model server at http://127.0.0.1:{port} is unreachable"
    else:
        assert error["message"].startswith(f"model server at 127.0.0.1:{port} is unavailable: ")
    ready = requests.get(app.url + "/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["error"]["message"].startswith("not ready: model server at ")
    assert requests.get(app.url + "/healthz", timeout=30).json() == {"status": "ok"}


@pytest.mark.parametrize("backend", ["rest", "grpc"])
def test_a_silent_backend_is_answered_within_the_deadline(
    web_model_server, web_apps, black_hole: int, backend: str
) -> None:
    """REST sends its request and waits: 504. gRPC never completes its HTTP/2 handshake, so
    it reports the server unavailable (503) or the call timed out (504), whichever comes first."""
    config = web_config(
        web_model_server,
        backend,
        deadline_s=DEADLINE_S,
        status_timeout_s=DEADLINE_S,
        **targets(black_hole),
    )
    app = web_apps(config, ready=False)
    response, took = timed_post(app)
    assert took < DEADLINE_S + MARGIN_S
    timeout_error = {
        "code": "backend_timeout",
        "message": f"the model server did not answer within the {DEADLINE_S:g} s deadline",
    }
    if backend == "rest":
        assert (response.status_code, response.json()["error"]) == (504, timeout_error)
    elif response.status_code == 503:
        assert response.json()["error"]["message"].startswith(
            f"model server at 127.0.0.1:{black_hole} is unavailable: "
        )
    else:
        assert (response.status_code, response.json()["error"]) == (504, timeout_error)
    started = time.monotonic()
    ready = requests.get(app.url + "/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["error"]["message"].startswith("not ready: ")
    assert time.monotonic() - started < DEADLINE_S + MARGIN_S


@pytest.mark.parametrize("backend", ["rest", "grpc"])
def test_a_model_slower_than_the_deadline_gives_504(
    web_model_server, web_apps, backend: str
) -> None:
    """A long passage needs several predict calls, far more than 1 ms on any machine (50 ms was
    not: a fast CPU answered in time over gRPC); the request fails at the deadline whether it
    runs out while encoding or while waiting."""
    app = web_apps(web_config(web_model_server, backend, deadline_s=0.001))
    body = {"question": "谁", "passage": (PASSAGE * 50)[: TEST_LIMITS.max_passage_chars]}
    started = time.monotonic()
    response = requests.post(app.url + "/v1/extract", json=body, timeout=30)
    assert time.monotonic() - started < MARGIN_S
    assert response.status_code == 504
    assert response.json()["error"]["message"] == (
        "the model server did not answer within the 0.001 s deadline"
    )
    labels = {"route": "/v1/extract", "code": "504", "error": "backend_timeout"}
    assert metric(app, "rc_web_errors_total", **labels) == 1
    # The timed-out connection was dropped; the backend is still reachable and ready.
    assert requests.get(app.url + "/readyz", timeout=30).status_code == 200


@pytest.mark.parametrize("backend", ["rest", "grpc"])
def test_an_unknown_model_gives_503(web_model_server, web_apps, backend: str) -> None:
    app = web_apps(web_config(web_model_server, backend, model_name="nope"), ready=False)
    response, _ = timed_post(app)
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "model_unavailable",
            "message": "the model server serves no version of 'nope'",
        }
    }


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (404, VersionMissing, "model server: Servable not found for request: Specific(rc, 9)"),
        (
            503,
            BackendUnavailable,
            "model server is unavailable: Servable not found for request: Specific(rc, 9)",
        ),
        (
            504,
            BackendTimeout,
            "model server timed out: Servable not found for request: Specific(rc, 9)",
        ),
        (
            400,
            BackendFailed,
            "model server answered 400: Servable not found for request: Specific(rc, 9)",
        ),
    ],
)
def test_rest_error_statuses_map_to_web_errors(status: int, error: type, message: str) -> None:
    body = b'{"error": "Servable not found for request: Specific(rc, 9)"}'
    with pytest.raises(error) as caught:
        _checked(HttpResponse(status, body))
    assert caught.value.message == message
