"""RestClient and GrpcClient against the local TF-Serving-compatible server.

The direct clients must answer exactly as the web layer does for the same model version (and
as the SavedModel does when called in this process), pin one version, report status and
metadata, and say clearly what went wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from client import (
    ClientError,
    Extraction,
    GrpcClient,
    ModelVersion,
    Query,
    RequestTimeout,
    RestClient,
    RetryPolicy,
    ServiceUnavailable,
    ServingClient,
    TensorSpec,
    VersionStatus,
    WebClient,
)
from contract.config import ContractConfig
from contract.served import ServedContract
from contract.tensors import (
    ANSWER_TYPE_PROBS,
    BIO_PROBS,
    BOUNDARY_PROBS,
    PASSAGE_CHARS,
    PASSAGE_LENGTH,
    PASSAGE_MATCH,
    PASSAGE_WORDS,
    QUESTION_CHARS,
    QUESTION_LENGTH,
    QUESTION_WORDS,
)
from tests.client_helpers import start_slow_grpc_server
from tests.serving_helpers import REPO_ROOT, free_port
from tests.web_helpers import MODEL_NAME, PASSAGE, QUESTIONS

pytest_plugins = ["tests.client_fixtures"]

pytestmark = pytest.mark.slow

LONG_PASSAGE = (PASSAGE + "本院认为，被告人的行为已构成盗窃罪。") * 12  # 11 windows
FAST = RetryPolicy(attempts=2, initial_backoff_s=0.01)
VERSION_1 = ModelVersion(MODEL_NAME, 1)


def direct_client(kind: str, web_model_server, grpc_target: str, **options) -> ServingClient:
    if kind == "rest":
        return RestClient(web_model_server.url, **options)
    return GrpcClient(grpc_target, **options)


@pytest.fixture(scope="module")
def clients(web_model_server, grpc_target: str, web_app) -> dict[str, ServingClient]:
    """Both direct clients, sending windows in calls as large as the web app's."""
    rows = web_app.config.batch_rows
    made = {
        kind: direct_client(kind, web_model_server, grpc_target, batch_rows=rows)
        for kind in ("rest", "grpc")
    }
    yield made
    for client in made.values():
        client.close()


@pytest.fixture(params=["rest", "grpc"])
def direct(request: pytest.FixtureRequest, clients: dict[str, ServingClient]) -> ServingClient:
    return clients[request.param]


@pytest.fixture(scope="module")
def web(web_app) -> WebClient:
    with WebClient(web_app.url) as client:
        yield client


def test_model_status_lists_the_served_version(direct: ServingClient) -> None:
    assert direct.model_status() == [VersionStatus(1, "AVAILABLE", "OK", "")]


def test_the_newest_version_is_pinned_with_its_contract(
    direct: ServingClient, web_models: Path
) -> None:
    assert direct.pinned().model == VERSION_1
    assert direct.contract() == ServedContract.load(web_models / MODEL_NAME / "1")


def test_metadata_describes_the_signatures(
    direct: ServingClient, clients: dict[str, ServingClient]
) -> None:
    metadata = direct.metadata()
    assert metadata.model == VERSION_1
    assert {"serving_default", "qa", "qa_ids", "contract"} <= set(metadata.signatures)
    signature = metadata.signatures["serving_default"]
    assert signature.method_name == "tensorflow/serving/predict"
    text = TensorSpec("DT_STRING", (-1, -1))
    assert signature.inputs == {
        PASSAGE_CHARS: text,
        PASSAGE_WORDS: text,
        QUESTION_CHARS: text,
        QUESTION_WORDS: text,
        PASSAGE_MATCH: TensorSpec("DT_FLOAT", (-1, -1, 2)),
        PASSAGE_LENGTH: TensorSpec("DT_INT32", (-1,)),
        QUESTION_LENGTH: TensorSpec("DT_INT32", (-1,)),
    }
    assert signature.outputs == {
        BIO_PROBS: TensorSpec("DT_FLOAT", (-1, -1, 3)),
        ANSWER_TYPE_PROBS: TensorSpec("DT_FLOAT", (-1, 4)),
        BOUNDARY_PROBS: TensorSpec("DT_FLOAT", (-1, -1, 2)),
    }
    assert metadata == clients["rest"].metadata()


@pytest.mark.parametrize("passage", [PASSAGE, LONG_PASSAGE], ids=["one_window", "many_windows"])
def test_answers_are_identical_to_the_web_layers(
    direct: ServingClient, web: WebClient, passage: str
) -> None:
    for question in QUESTIONS:
        assert direct.ask(question, passage, min_score=0) == web.ask(question, passage, min_score=0)
    some = QUESTIONS[:5]  # five long passages are within the web app's request limit
    assert direct.ask_questions(some, passage, top_k=2, min_score=0.3) == web.ask_questions(
        some, passage, top_k=2, min_score=0.3
    )
    items = [Query(q, passage[i:], top_k=1 + i % 3, min_score=0) for i, q in enumerate(some)]
    assert direct.ask_batch(items) == web.ask_batch(items)


def test_answers_are_identical_to_the_saved_model_in_process(
    direct: ServingClient, reference
) -> None:
    for question in QUESTIONS:
        expected = reference.predict(question, LONG_PASSAGE, batch_rows=direct.batch_rows)
        assert direct.ask(question, LONG_PASSAGE) == Extraction.from_prediction(expected, VERSION_1)


def test_threads_share_one_client(web_model_server, grpc_target: str) -> None:
    questions = [q for q in QUESTIONS for _ in range(4)]
    for kind in ("rest", "grpc"):
        with direct_client(kind, web_model_server, grpc_target) as client:
            with ThreadPoolExecutor(8) as pool:
                together = list(pool.map(lambda q: client.ask(q, PASSAGE, min_score=0), questions))
            assert together == [client.ask(q, PASSAGE, min_score=0) for q in questions]


@pytest.mark.parametrize("kind", ["rest", "grpc"])
def test_an_unknown_model_is_a_404_with_the_servers_message(
    kind: str, web_model_server, grpc_target: str
) -> None:
    with (
        direct_client(kind, web_model_server, grpc_target, model="nosuch") as client,
        pytest.raises(ClientError) as raised,
    ):
        client.ask("谁？", PASSAGE)
    answered = "404" if kind == "rest" else "NOT_FOUND"
    assert str(raised.value) == (
        f"{client.where} answered {answered}: Could not find any versions of model nosuch"
    )
    assert raised.value.status == 404


@pytest.mark.parametrize("kind", ["rest", "grpc"])
def test_a_version_that_is_not_served_is_a_404(
    kind: str, web_model_server, grpc_target: str
) -> None:
    with (
        direct_client(kind, web_model_server, grpc_target, version=7) as client,
        pytest.raises(ClientError) as raised,
    ):
        client.ask("谁？", PASSAGE)
    answered = "404" if kind == "rest" else "NOT_FOUND"
    assert str(raised.value) == (
        f"{client.where} answered {answered}: Servable not found for request: Specific(rc, 7)"
    )
    assert (raised.value.status, raised.value.detail) == (
        404,
        "Servable not found for request: Specific(rc, 7)",
    )


def test_a_server_that_is_down_is_retried_then_reported() -> None:
    port = free_port()
    with RestClient(f"http://127.0.0.1:{port}", retry=FAST) as client:
        with pytest.raises(ServiceUnavailable) as raised:
            client.model_status()
        assert str(raised.value) == (
            f"cannot connect to {client.where}: Connection refused (gave up after 2 attempts)"
        )
    with GrpcClient(f"127.0.0.1:{port}", retry=FAST) as client:
        with pytest.raises(ServiceUnavailable) as raised:
            client.model_status()
        assert str(raised.value).startswith(f"cannot reach {client.where}: ")
        assert str(raised.value).endswith("(gave up after 2 attempts)")
        assert (raised.value.status, raised.value.code) == (503, "UNAVAILABLE")


def test_a_slow_grpc_answer_times_out() -> None:
    server, target = start_slow_grpc_server(delay_s=2.0)
    try:
        with (
            GrpcClient(target, timeout=0.3, retry=FAST) as client,
            pytest.raises(RequestTimeout) as raised,
        ):
            client.model_status()
    finally:
        server.stop(grace=None)
    assert str(raised.value) == f"{client.where} did not answer within 0.3 s"
    assert (raised.value.status, raised.value.code) == (504, "DEADLINE_EXCEEDED")


def test_answer_options_are_checked(clients: dict[str, ServingClient]) -> None:
    rest = clients["rest"]
    with pytest.raises(ValueError, match=r"^top_k must be an integer of at least 1, got 0$"):
        rest.ask("谁？", PASSAGE, top_k=0)
    with pytest.raises(ValueError, match=r"^min_score must be from 0 to 1, got 1.5$"):
        rest.ask_batch([Query("谁？", PASSAGE, min_score=1.5)])


def test_the_rest_client_never_imports_tensorflow(web_model_server, web: WebClient) -> None:
    script = (
        "import json, sys\n"
        "from client import RestClient\n"
        "with RestClient(sys.argv[1], batch_rows=4) as client:\n"
        "    answer = client.ask(sys.argv[2], sys.argv[3], min_score=0)\n"
        "    status = client.model_status()\n"
        "    signatures = sorted(client.metadata().signatures)\n"
        "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules,\n"
        "    'answer': answer.to_dict(), 'available': [s.version for s in status],\n"
        "    'signatures': signatures}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, web_model_server.url, QUESTIONS[3], PASSAGE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["tensorflow"] is False
    assert result["answer"] == web.ask(QUESTIONS[3], PASSAGE, min_score=0).to_dict()
    assert result["available"] == [1]
    assert "serving_default" in result["signatures"]


class _ShortBoundaryRows:
    """A server answering version 1's contract, then predict outputs whose boundary rows do
    not match the rows sent (a broken or foreign model behind the same API)."""

    where = "REST API at http://test"

    def predict(self, model, version, signature, inputs, output_names=()):
        if signature == "contract":
            contract = ServedContract(ContractConfig(), MODEL_NAME)
            return {"contract_json": np.array([contract.to_json()], dtype=object)}
        rows, length = inputs[PASSAGE_CHARS].shape
        return {
            BIO_PROBS: np.zeros((rows, length, 3)),
            ANSWER_TYPE_PROBS: np.zeros((rows, 4)),
            BOUNDARY_PROBS: np.zeros((rows + 1, length, 2)),
        }

    def close(self) -> None:
        pass


def test_outputs_with_the_wrong_number_of_rows_are_a_client_error() -> None:
    client = ServingClient(_ShortBoundaryRows(), MODEL_NAME, version=1)
    with pytest.raises(
        ClientError,
        match=r"unexpected predict answer: .* for 1 rows, got .*'boundary_probs': \[2, ",
    ):
        client.ask("谁？", PASSAGE)
