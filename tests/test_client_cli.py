"""``python -m client`` against the real web layer and local model server.

Most commands run in-process through ``client.cli.main`` (fast); two run as real
``python -m`` processes to show the exit status and the absence of tracebacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from client import WebClient
from client.predict_file import is_multi_answer
from contract.decode import scoring_answer
from model.evaluate import default_metric, evaluate, read_predictions
from model.readers import write_jsonl
from model.sample_data import generate_examples
from tests.serving_helpers import REPO_ROOT, free_port
from tests.web_helpers import MODEL_NAME, PASSAGE, QUESTIONS, TEST_LIMITS, web_config

pytest_plugins = ["tests.client_fixtures"]

pytestmark = pytest.mark.slow


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from client.cli import main

    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def backends(web_app, web_model_server, grpc_target: str) -> dict[str, list[str]]:
    """The connection flags of each backend; the direct ones send windows in calls as large
    as the web app's, so all three give bit-identical scores."""
    rows = str(web_app.config.batch_rows)
    return {
        "web": ["--url", web_app.url],
        "rest": ["--backend", "rest", "--url", web_model_server.url, "--batch-rows", rows],
        "grpc": ["--backend", "grpc", "--target", grpc_target, "--batch-rows", rows],
    }


# ---------------------------------------------------------------------------------- ask


def test_ask_shows_each_answer_marked_in_its_passage(capsys, web_app, backends) -> None:
    question = QUESTIONS[3]
    code, out, err = cli(capsys, "ask", "-q", question, "-p", PASSAGE, "--min-score", "0",
                         *backends["web"])  # fmt: skip
    assert (code, err) == (0, "")
    expected = WebClient(web_app.url).ask(question, PASSAGE, min_score=0)
    lines = out.splitlines()
    count = len(expected.answers)
    assert lines[:2] == [
        f"question: {question}",
        f"answer:   span, {count} answer{'s' * (count != 1)} (model rc version 1)",
    ]
    assert len(lines) == 2 + 2 * count
    for rank, answer in enumerate(expected.answers, start=1):
        summary, context = lines[2 * rank], lines[2 * rank + 1]
        assert summary == (
            f"  {rank}. {answer.text}  score {answer.score:.3f}  "
            f"characters {answer.start}-{answer.end}"
        )
        assert f"【{answer.text}】" in context
        assert context.strip().strip("…").replace("【", "").replace("】", "") in PASSAGE


def test_ask_reports_yes_and_no_answers(capsys, backends) -> None:
    # With the test model's weights the last question is answered "no" (tests/web_helpers.py).
    code, out, _ = cli(capsys, "ask", "-q", QUESTIONS[-1], "-p", PASSAGE, *backends["web"])
    assert code == 0
    assert out == f"question: {QUESTIONS[-1]}\nanswer:   NO (model rc version 1)\n"


def test_ask_json_is_the_same_from_every_backend(capsys, backends, web_app, tmp_path: Path) -> None:
    passage_file = tmp_path / "passage.txt"
    passage_file.write_text(PASSAGE, encoding="utf-8")
    asked = ["-q", QUESTIONS[0], "-q", QUESTIONS[3], "--passage-file", passage_file, "--json"]
    outputs = {}
    for name, flags in backends.items():
        code, outputs[name], err = cli(capsys, "ask", *asked, "--min-score", "0.3", *flags)
        assert (code, err) == (0, "")
    assert outputs["rest"] == outputs["web"] == outputs["grpc"]
    web = WebClient(web_app.url)
    assert [json.loads(line) for line in outputs["web"].splitlines()] == [
        {"question": q} | web.ask(q, PASSAGE, min_score=0.3).to_dict()
        for q in (QUESTIONS[0], QUESTIONS[3])
    ]


# ---------------------------------------------------------------------------------- status


def test_status_of_the_web_layer_and_of_tf_serving(capsys, backends, web_app, web_model_server):
    assert cli(capsys, "status", *backends["web"]) == (
        0,
        f"the web API at {web_app.url}: ready (backend rest, model rc version 1)\n",
        "",
    )
    assert cli(capsys, "status", *backends["rest"]) == (
        0,
        f"model 'rc' at the TF Serving REST API at {web_model_server.url}:\n"
        "  version 1  AVAILABLE\n",
        "",
    )
    code, out, _ = cli(capsys, "status", "--json", *backends["grpc"])
    assert code == 0
    assert json.loads(out) == {
        "model": MODEL_NAME,
        "versions": [{"version": 1, "state": "AVAILABLE", "error_code": "OK", "error_message": ""}],
    }


def test_status_of_a_web_layer_that_is_not_ready_exits_1(capsys, web_model_server, web_apps):
    rest_url = f"http://127.0.0.1:{free_port()}"
    app = web_apps(web_config(web_model_server, "rest", rest_url=rest_url), ready=False)
    assert cli(capsys, "status", "--url", app.url) == (
        1,
        f"the web API at {app.url}: not ready: model server at {rest_url} is unreachable\n",
        "",
    )


def test_metadata_of_tf_serving_and_of_the_web_layer(capsys, backends, web_app, web_model_server):
    code, out, _ = cli(capsys, "metadata", *backends["rest"])
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [
        f"model 'rc' version 1 at the TF Serving REST API at {web_model_server.url}",
        "contract: window_len=128 window_stride=96 max_question_len=32 passage_bucket=64 "
        "question_bucket=16 top_k=5 min_score=0.5 fallback_min_score=None contract_version=1",
    ]
    serving_default = lines.index("signature serving_default (tensorflow/serving/predict)")
    assert lines[serving_default + 1 : serving_default + 3] == [
        "  input  passage_chars      DT_STRING [-1, -1]",
        "  input  passage_length     DT_INT32  [-1]",
    ]
    code, grpc_json, _ = cli(capsys, "metadata", "--json", *backends["grpc"])
    code, rest_json, _ = cli(capsys, "metadata", "--json", *backends["rest"])
    assert json.loads(grpc_json) == json.loads(rest_json)
    assert json.loads(rest_json)["contract"]["window_len"] == 128

    code, out, _ = cli(capsys, "metadata", *backends["web"])
    assert code == 0
    assert out.splitlines()[:3] == [
        f"the web API at {web_app.url}: Reading-comprehension extraction, API version 1",
        "model: ready (backend rest, model rc version 1)",
        "routes:",
    ]
    assert "  POST  /v1/extract            Answer one question about one passage" in out


# ---------------------------------------------------------------------------------- predict


def test_predicting_a_dev_file_scores_exactly_like_the_model_in_process(
    capsys, backends, reference, tmp_path: Path
) -> None:
    examples = generate_examples(24, seed=11, split="dev")
    gold = write_jsonl(examples, tmp_path / "dev.jsonl")
    assert is_multi_answer(examples)  # the answers are lists of spans, as model/train.py scores

    predictions = {}
    for name, flags in backends.items():
        output = tmp_path / f"{name}.json"
        code, out, err = cli(capsys, "predict", "--input", gold, "--output", output,
                             "--min-score", "0", "--workers", "3", *flags)  # fmt: skip
        assert (code, err) == (0, "")
        assert out.startswith("answered 24 of 24 questions with model rc version 1 in ")
        assert out.endswith(f" s; wrote {output}\n")
        predictions[name] = read_predictions(output)
    assert predictions["rest"] == predictions["web"] == predictions["grpc"]

    in_process = {
        e.id: scoring_answer(
            reference.predict(e.question, e.passage, batch_rows=4, min_score=0), multi_answer=True
        )
        for e in examples
    }
    assert predictions["web"] == in_process
    assert sum(isinstance(a, list) for a in in_process.values()) >= 10  # spans, not all empty

    scored = subprocess.run(
        [sys.executable, "-m", "model.evaluate", "--gold", gold, "--pred", tmp_path / "web.json",
         "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(scored.stdout) == evaluate(examples, in_process, default_metric(examples))


def test_predict_reads_squad_style_files(capsys, backends, tmp_path: Path) -> None:
    squad = {
        "version": "test",
        "data": [
            {
                "paragraphs": [
                    {
                        "context": PASSAGE,
                        "qas": [
                            {
                                "id": f"q{n}",
                                "question": question,
                                "answers": [{"text": "张三", "answer_start": 3}],
                            }
                            for n, question in enumerate(QUESTIONS[:3])
                        ],
                    }
                ]
            }
        ],
    }
    gold = tmp_path / "squad.json"
    gold.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    output = tmp_path / "predictions.json"
    code, _, err = cli(capsys, "predict", "--input", gold, "--output", output, "--min-score", "0",
                       *backends["web"])  # fmt: skip
    assert (code, err) == (0, "")
    web = WebClient(backends["web"][1])
    assert read_predictions(output) == {
        f"q{n}": web.ask(q, PASSAGE, min_score=0).scoring_answer()
        for n, q in enumerate(QUESTIONS[:3])
    }


def test_predict_leaves_out_questions_the_service_refuses(capsys, backends, tmp_path) -> None:
    examples = generate_examples(3, seed=5, split="dev")
    too_long = "问" * (TEST_LIMITS.max_question_chars + 1)
    lines = [json.loads(line) for line in write_jsonl(examples, tmp_path / "a.jsonl").open()]
    lines[1]["question"] = too_long
    gold = tmp_path / "dev.jsonl"
    gold.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    output = tmp_path / "predictions.json"
    code, out, err = cli(capsys, "predict", "--input", gold, "--output", output, *backends["web"])
    assert code == 0
    assert out.startswith("answered 2 of 3 questions")
    assert err == (
        "warning: the service refused 1 questions, left out of the predictions (they score 0), "
        f"e.g. {examples[1].id!r}: field 'question' has {len(too_long)} characters; the limit "
        f"is {TEST_LIMITS.max_question_chars}\n"
    )
    assert set(read_predictions(output)) == {examples[0].id, examples[2].id}


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["status", "--backend", "rest", "--url", "{rest}", "--model", "nosuch"],
            "the TF Serving REST API at {rest} answered 404: Could not find any versions of "
            "model nosuch",
        ),
        (
            [
                "ask",
                "-q",
                "谁",
                "-p",
                "文",
                "--backend",
                "grpc",
                "--target",
                "{grpc}",
                "--version",
                "9",
            ],
            "the TF Serving gRPC API at {grpc} answered NOT_FOUND: Servable not found for "
            "request: Specific(rc, 9)",
        ),
        (
            ["ask", "-q", " ", "-p", "文", "--url", "{web}"],
            "the web API at {web} answered 400 invalid_request: field 'question' must not be "
            "empty or only whitespace",
        ),
        (
            ["ask", "-q", "谁", "--passage-file", "/nonexistent/passage.txt", "--url", "{web}"],
            "cannot read /nonexistent/passage.txt: No such file or directory",
        ),
        (
            ["status", "--url", "{web}", "--target", "{grpc}"],
            "--target is for --backend grpc; give web and rest a --url",
        ),
        (
            ["status", "--url", "{web}", "--version", "2"],
            "--version is for --backend rest or grpc; the web layer picks its own model version",
        ),
        (
            ["predict", "--input", "/nonexistent/dev.jsonl", "--output", "x", "--url", "{web}"],
            "/nonexistent/dev.jsonl: cannot read: No such file or directory",
        ),
    ],
)
def test_errors_are_one_line_with_exit_status_2(
    capsys, argv: list[str], message: str, web_app, web_model_server, grpc_target: str
) -> None:
    places = {"web": web_app.url, "rest": web_model_server.url, "grpc": grpc_target}
    code, out, err = cli(capsys, *(arg.format(**places) for arg in argv))
    assert (code, out, err) == (2, "", f"error: {message.format(**places)}\n")


def test_python_m_client_fails_cleanly_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "client", "ask", "-q", "谁", "-p", "文", "--url", url,
         "--attempts", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: cannot connect to the web API at {url}: Connection refused\n"


def test_python_m_client_usage_errors_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "client", "ask", "-q", "谁"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "python -m client ask: error: one of the arguments --passage/-p --passage-file is required"
    )
    assert "Traceback" not in done.stderr
