"""The web API end to end: web app -> local TF-Serving-compatible server -> exported model.

Every check holds for any weights: offsets agree with the text, REST, gRPC and an in-process
SavedModel call agree exactly, errors carry exact statuses and messages.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from contract.decode import WindowOutputs, decode_rows
from contract.served import ServedContract
from contract.tensors import batch_inputs, window_rows
from tests.serving_helpers import free_port
from tests.web_helpers import (
    MODEL_NAME,
    PASSAGE,
    QUESTIONS,
    TEST_LIMITS,
    WebAppThread,
    metric,
    web_config,
    without_timing,
)

pytest_plugins = ["tests.web_fixtures"]

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[1]
LONG_PASSAGE = (PASSAGE + "本院认为，被告人的行为已构成盗窃罪。") * 12  # several windows


@pytest.fixture(scope="module")
def apps(web_model_server, web_apps) -> dict[str, WebAppThread]:
    return {kind: web_apps(web_config(web_model_server, kind)) for kind in ("rest", "grpc")}


@pytest.fixture(params=["rest", "grpc"])
def app(request: pytest.FixtureRequest, apps: dict[str, WebAppThread]) -> WebAppThread:
    return apps[request.param]


def post(app: WebAppThread, path: str, body: object) -> requests.Response:
    return requests.post(app.url + path, json=body, timeout=60)


def post_raw(app: WebAppThread, path: str, data: bytes, **kwargs) -> requests.Response:
    return requests.post(app.url + path, data=data, timeout=60, **kwargs)


def assert_offsets_match(passage: str, result: dict) -> None:
    for answer in result["answers"]:
        assert passage[answer["start"] : answer["end"]] == answer["text"]
        assert 0 <= answer["score"] <= 1


@pytest.fixture(scope="module")
def span_question(apps: dict[str, WebAppThread]) -> str:
    """A question the served model answers with spans about PASSAGE (min_score 0)."""
    for question in QUESTIONS:
        body = {"question": question, "passage": PASSAGE, "min_score": 0}
        if post(apps["rest"], "/v1/extract", body).json()["answers"]:
            return question
    pytest.fail(f"the model answers none of {QUESTIONS} with a span")


@pytest.fixture(scope="module")
def in_process(web_models: Path):
    """Answers from the SavedModel called in this process, decoded by the contract."""
    import tensorflow as tf

    version_dir = web_models / MODEL_NAME / "1"
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    contract = ServedContract.load(version_dir)
    encoder = contract.encoder()

    def answer(question: str, passage: str, min_score: float, batch_rows: int) -> dict:
        """Rows go through the model in chunks of ``batch_rows`` like the web app sends them
        (float results depend slightly on the batch a row is computed in)."""
        encoded = [encoder.encode(question, passage)]
        rows = window_rows(encoded)
        outputs = WindowOutputs()
        for first in range(0, len(rows), batch_rows):
            chunk = rows[first : first + batch_rows]
            inputs = batch_inputs(chunk, contract.config)
            named = signature(**{name: tf.constant(array) for name, array in inputs.items()})
            outputs.add({name: value.numpy() for name, value in named.items()}, len(chunk))
        (prediction,) = decode_rows(
            encoded, outputs, top_k=contract.config.top_k, min_score=min_score
        )
        return {
            "answer_type": prediction.answer_type.value,
            "answers": [a.to_dict() for a in prediction.answers],
        }

    return answer


def test_one_question_gets_answers_with_offsets_into_the_passage(
    app: WebAppThread, span_question: str
) -> None:
    response = post(
        app, "/v1/extract", {"question": span_question, "passage": PASSAGE, "min_score": 0}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    result = response.json()
    assert set(result) == {"answer_type", "answers", "model", "took_ms"}
    assert result["answer_type"] == "span"
    assert result["model"] == {"name": MODEL_NAME, "version": 1}
    assert result["took_ms"] > 0
    assert 1 <= len(result["answers"]) <= 5  # the contract's default top_k
    scores = [a["score"] for a in result["answers"]]
    assert scores == sorted(scores, reverse=True)
    assert_offsets_match(PASSAGE, result)


@pytest.mark.parametrize("passage", [PASSAGE, LONG_PASSAGE], ids=["one_window", "many_windows"])
def test_rest_grpc_and_in_process_answers_are_identical(
    apps: dict[str, WebAppThread], in_process, passage: str
) -> None:
    for question in QUESTIONS:
        body = {"question": question, "passage": passage, "min_score": 0}
        rest = without_timing(post(apps["rest"], "/v1/extract", body).json())
        grpc = without_timing(post(apps["grpc"], "/v1/extract", body).json())
        assert rest == grpc
        del rest["model"]
        assert rest == in_process(question, passage, 0.0, apps["rest"].config.batch_rows)


def test_long_passages_are_sent_in_bounded_predict_calls(
    app: WebAppThread, span_question: str
) -> None:
    backend = app.config.backend
    calls_before = metric(app, "rc_web_backend_seconds_count", backend=backend)
    body = {"question": span_question, "passage": LONG_PASSAGE, "min_score": 0}
    result = post(app, "/v1/extract", body).json()
    assert_offsets_match(LONG_PASSAGE, result)
    # 1056 characters in windows of 128 every 96 positions: 11 windows, 4 rows per call.
    assert metric(app, "rc_web_backend_seconds_count", backend=backend) - calls_before == 3


def test_offsets_count_code_points_after_emoji(app: WebAppThread) -> None:
    passage = "😀🀄" + PASSAGE
    for question in QUESTIONS:
        result = post(
            app, "/v1/extract", {"question": question, "passage": passage, "min_score": 0}
        )
        assert result.status_code == 200
        assert_offsets_match(passage, result.json())


def test_batch_results_follow_item_order(app: WebAppThread) -> None:
    items = [
        {"question": q, "passage": p, "min_score": 0, "top_k": k}
        for q, p, k in zip(
            QUESTIONS, [PASSAGE, "😀" + PASSAGE, PASSAGE[20:]] * 3, [1, 2, 3] * 3, strict=False
        )
    ]
    response = post(app, "/v1/extract/batch", {"items": items})
    assert response.status_code == 200
    batch = response.json()
    assert set(batch) == {"results", "model", "took_ms"}
    singles = [
        {
            k: v
            for k, v in post(app, "/v1/extract", item).json().items()
            if k in ("answer_type", "answers")
        }
        for item in items
    ]
    assert batch["results"] == singles
    for item, result in zip(items, batch["results"], strict=True):
        assert len(result["answers"]) <= item["top_k"]


def test_one_passage_with_many_questions(app: WebAppThread) -> None:
    body = {"passage": PASSAGE, "questions": list(QUESTIONS), "min_score": 0}
    response = post(app, "/v1/extract/questions", body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["question"] for r in results] == list(QUESTIONS)
    for question, result in zip(QUESTIONS, results, strict=True):
        single = post(
            app, "/v1/extract", {"question": question, "passage": PASSAGE, "min_score": 0}
        )
        assert {k: result[k] for k in ("answer_type", "answers")} == {
            k: single.json()[k] for k in ("answer_type", "answers")
        }


def test_top_k_and_min_score_are_applied(app: WebAppThread, span_question: str) -> None:
    body = {"question": span_question, "passage": PASSAGE}
    assert len(post(app, "/v1/extract", body | {"min_score": 0, "top_k": 1}).json()["answers"]) == 1
    strict = post(app, "/v1/extract", body | {"min_score": 1}).json()
    assert strict["answers"] == [] and strict["answer_type"] == "none"


def test_parallel_requests_answer_exactly_as_sequential_ones(app: WebAppThread) -> None:
    bodies = [
        {"question": q, "passage": p, "min_score": 0}
        for q in QUESTIONS
        for p in (PASSAGE, PASSAGE[15:], "😀" + PASSAGE)
    ]
    sequential = [without_timing(post(app, "/v1/extract", b).json()) for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(
            pool.map(lambda b: without_timing(post(app, "/v1/extract", b).json()), bodies)
        )
    assert parallel == sequential


LIMIT_MESSAGE_413 = f"request body has 70000 bytes; the limit is {TEST_LIMITS.max_body_bytes}"


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "message"),
    [
        (
            "/v1/extract",
            b"{",
            400,
            "invalid_json",
            "request body is not valid JSON: Expecting "
            "property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ("/v1/extract", b"", 400, "invalid_json", "request body is empty; send a JSON object"),
        (
            "/v1/extract",
            b"\xfe",
            400,
            "invalid_json",
            "request body is not valid UTF-8: invalid start byte at byte 0",
        ),
        (
            "/v1/extract",
            b"[1]",
            400,
            "invalid_request",
            "request body must be a JSON object, got array",
        ),
        (
            "/v1/extract",
            b'{"passage": "x"}',
            400,
            "invalid_request",
            "field 'question' is required",
        ),
        (
            "/v1/extract",
            b'{"question": 1, "passage": "x"}',
            400,
            "invalid_request",
            "field 'question' must be a string, got number",
        ),
        (
            "/v1/extract",
            b'{"question": "q", "passage": " "}',
            400,
            "invalid_request",
            "field 'passage' must not be empty or only whitespace",
        ),
        (
            "/v1/extract",
            b'{"question": "q", "passage": "\\ud800"}',
            400,
            "invalid_request",
            "field 'passage' is not valid Unicode: lone surrogate U+D800 at index 0",
        ),
        (
            "/v1/extract",
            b'{"question": "q", "passage": "x", "top_k": 11}',
            400,
            "invalid_request",
            "field 'top_k' must be from 1 to 10, got 11",
        ),
        (
            "/v1/extract",
            json.dumps({"question": "q", "passage": "x" * 3001}).encode(),
            422,
            "limit_exceeded",
            "field 'passage' has 3001 characters; the limit is 3000",
        ),
        (
            "/v1/extract",
            json.dumps({"question": "q" * 65, "passage": "x"}).encode(),
            422,
            "limit_exceeded",
            "field 'question' has 65 characters; the limit is 64",
        ),
        (
            "/v1/extract/batch",
            b'{"items": []}',
            400,
            "invalid_request",
            "field 'items' must not be empty",
        ),
        (
            "/v1/extract/batch",
            json.dumps({"items": [{"question": "q", "passage": "x"}] * 9}).encode(),
            422,
            "limit_exceeded",
            "field 'items' has 9 entries; the limit is 8",
        ),
        (
            "/v1/extract/batch",
            json.dumps({"items": [{"question": "q", "passage": "x" * 2000}] * 4}).encode(),
            422,
            "limit_exceeded",
            "the request holds 8000 passage characters in all (each "
            "question reads its passage once); the limit is 6000",
        ),
        (
            "/v1/extract/questions",
            b'{"passage": "x", "questions": [""]}',
            400,
            "invalid_request",
            "field 'questions[0]' must not be empty or only whitespace",
        ),
        (
            "/v1/extract",
            b'{"q": "' + b"x" * 69_991 + b'"}',
            413,
            "body_too_large",
            LIMIT_MESSAGE_413,
        ),
    ],
)
def test_bad_requests_get_exact_errors(
    apps: dict[str, WebAppThread], path: str, body: bytes, status: int, code: str, message: str
) -> None:
    response = post_raw(apps["rest"], path, body)
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": message}}


def test_an_oversized_chunked_body_gets_413(apps: dict[str, WebAppThread]) -> None:
    chunks = iter([b"{", b" " * 69_998, b"}"])
    response = post_raw(apps["rest"], "/v1/extract", chunks)  # no Content-Length: chunked
    assert response.status_code == 413
    assert response.json()["error"]["message"] == LIMIT_MESSAGE_413


def test_a_huge_declared_body_is_refused_before_it_is_read(apps: dict[str, WebAppThread]) -> None:
    port = apps["rest"].server.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{"
        )
        head, _, body = connection.makefile("rb").read().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["error"] == {
        "code": "body_too_large",
        "message": "request body has 1000000000 bytes; the limit is 65536",
    }


def test_unknown_routes_and_methods_answer_json(apps: dict[str, WebAppThread]) -> None:
    app = apps["rest"]
    missing = requests.get(app.url + "/v2/extract", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "no route GET /v2/extract; see /openapi.json"}
    }
    wrong = requests.get(app.url + "/v1/extract", timeout=10)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert wrong.json() == {
        "error": {
            "code": "method_not_allowed",
            "message": "GET is not allowed on /v1/extract; use POST",
        }
    }


def test_cors_is_off_by_default_and_on_by_flag(web_model_server, web_apps, apps) -> None:
    plain = requests.options(apps["rest"].url + "/v1/extract", timeout=10)
    assert plain.status_code == 405
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert "Access-Control-Allow-Origin" not in requests.get(apps["rest"].url + "/healthz").headers
    cors = web_apps(web_config(web_model_server, "rest", cors_origin="https://example.org"))
    preflight = requests.options(cors.url + "/v1/extract", timeout=10)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://example.org"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    error = requests.post(cors.url + "/v1/extract", data=b"{", timeout=10)
    assert error.headers["Access-Control-Allow-Origin"] == "https://example.org"


def test_health_readiness_page_and_openapi(app: WebAppThread) -> None:
    assert requests.get(app.url + "/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(app.url + "/readyz", timeout=10)
    assert ready.json() == {
        "status": "ready",
        "backend": app.config.backend,
        "model": {"name": MODEL_NAME, "version": 1},
    }
    page = requests.get(app.url + "/", timeout=10)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Array.from(passage)" in page.text
    document = requests.get(app.url + "/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/v1/extract",
        "/v1/extract/batch",
        "/v1/extract/questions",
        "/healthz",
        "/readyz",
        "/metrics",
        "/",
        "/openapi.json",
    }
    passage_schema = document["components"]["schemas"]["ExtractRequest"]["properties"]["passage"]
    assert passage_schema["maxLength"] == TEST_LIMITS.max_passage_chars


def test_metrics_count_requests_errors_latency_and_version(app: WebAppThread) -> None:
    route = {"route": "/v1/extract"}
    ok_before = metric(app, "rc_web_requests_total", code="200", **route)
    bad_before = metric(app, "rc_web_errors_total", code="400", error="invalid_json", **route)
    latency_before = metric(app, "rc_web_request_seconds_count", **route)
    for _ in range(2):
        post(app, "/v1/extract", {"question": "谁", "passage": PASSAGE})
    post_raw(app, "/v1/extract", b"{")
    assert metric(app, "rc_web_requests_total", code="200", **route) - ok_before == 2
    assert (
        metric(app, "rc_web_errors_total", code="400", error="invalid_json", **route) - bad_before
        == 1
    )
    assert metric(app, "rc_web_request_seconds_count", **route) - latency_before == 3
    assert metric(app, "rc_web_model_version", model=MODEL_NAME) == 1
    assert metric(app, "rc_web_backend_seconds_count", backend=app.config.backend) > 0


NO_TENSORFLOW_SCRIPT = """
import asyncio, json, sys
from tornado.httpclient import AsyncHTTPClient
from web.app import WebServer
from web.config import WebConfig

async def main():
    server = await WebServer.start(WebConfig(port=0, address="127.0.0.1", rest_url=sys.argv[1]))
    url = f"http://127.0.0.1:{server.port}"
    client = AsyncHTTPClient()
    for _ in range(300):
        if (await client.fetch(url + "/readyz", raise_error=False)).code == 200:
            break
        await asyncio.sleep(0.1)
    body = json.dumps({"question": "谁", "passage": "张三来了。"})
    answer = await client.fetch(url + "/v1/extract", method="POST", body=body)
    await server.stop()
    print(answer.code, sorted(m for m in sys.modules if m.startswith("tensorflow")))

asyncio.run(main())
"""


def test_the_rest_path_never_imports_tensorflow(web_model_server) -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW_SCRIPT, web_model_server.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 []"


def test_python_m_web_reads_its_environment_and_stops_on_sigterm(web_model_server) -> None:
    port = free_port()
    env = os.environ | {
        "WEB_PORT": str(port),
        "WEB_ADDRESS": "127.0.0.1",
        "WEB_REST_URL": web_model_server.url,
        "WEB_MAX_TOP_K": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "web"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "python -m web did not become ready"
            try:
                if requests.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        body = {"question": "谁", "passage": PASSAGE, "top_k": 4}
        assert requests.post(url + "/v1/extract", json=body, timeout=30).json()["error"] == {
            "code": "invalid_request",
            "message": "field 'top_k' must be from 1 to 3, got 4",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "stopping" in output
