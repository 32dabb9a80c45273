from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contract.examples import AnswerSpan, AnswerType, QAExample
from model.evaluate import (
    PredictionError,
    answer_type_summary,
    cjrc_chars,
    cjrc_em,
    cjrc_f1,
    cmrc_em,
    cmrc_f1,
    cmrc_tokens,
    evaluate,
    leave_one_out,
    longest_common_run,
    read_predictions,
)

REPO = Path(__file__).resolve().parents[1]

# --- CMRC 2018 ----------------------------------------------------------------------------------


def test_cmrc_tokens_split_chinese_characters_and_latin_runs() -> None:
    assert cmrc_tokens("iPhone 6s是苹果公司的手机。") == [
        "iphone", "6s", "是", "苹", "果", "公", "司", "的", "手", "机",
    ]  # fmt: skip
    # Punctuation is deleted (joining what it separated), whitespace only separates.
    assert cmrc_tokens("Hello, World! 3.14") == ["hello", "world", "314"]
    # Extension B characters count as Chinese too.
    assert cmrc_tokens("线白𫚭") == ["线", "白", "𫚭"]


def test_cmrc_tokens_drop_the_official_punctuation_list() -> None:
    official = "-:_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』"
    assert cmrc_tokens(official) == []
    assert cmrc_tokens("（ＡＢＣ）＄＋") == [
        "ａｂｃ"
    ]  # full-width letters stay, as in the official script


def test_longest_common_run_is_contiguous() -> None:
    assert (
        longest_common_run(list("北京大学"), list("北大学")) == 2
    )  # 大学, not the subsequence 北大学
    assert longest_common_run(["a", "b", "a", "b", "c"], ["b", "a", "b", "c", "x"]) == 4
    assert longest_common_run([], ["a"]) == 0


@pytest.mark.parametrize(
    ("prediction", "references", "em", "f1"),
    [
        # pred 苹果公司的iphone: 6 tokens, ref 苹果公司: 4; run 4 -> P 4/6, R 1 -> F1 0.8
        ("苹果公司的iPhone", ["苹果公司"], 0.0, 0.8),
        # pred 北京大学 (4), ref 北大学 (3): longest run 大学 = 2 -> P 1/2, R 2/3 -> F1 4/7
        ("北京大学", ["北大学"], 0.0, 4 / 7),
        # pred [2013,年,8,月,7,日] (6), ref [2013,年,8,月] (4): run 4 -> P 2/3, R 1 -> F1 0.8
        ("2013年8月7日", ["2013年8月"], 0.0, 0.8),
        # best over references: 北京 gives P 2/4 R 1 -> 2/3, 北京市 gives P 3/4 R 1 -> 6/7
        ("北京市区", ["北京", "北京市"], 0.0, 6 / 7),
        ("《红楼梦》", ["红楼梦"], 1.0, 1.0),
        ("Hello, World!", ["hello world"], 1.0, 1.0),
        ("北京 大学", ["北京大学"], 1.0, 1.0),
        # whitespace separates Latin words: [newyork] vs [new, york] share nothing
        ("newyork", ["new york"], 0.0, 0.0),
        # a different number is a different token: [19656,元] vs [56691,元] -> run 1, P=R=1/2
        ("19656元", ["56691元"], 0.0, 0.5),
        ("", [""], 1.0, 1.0),
        ("", ["北京"], 0.0, 0.0),
        ("北京", [""], 0.0, 0.0),
        ("YES", ["YES", "NO"], 1.0, 1.0),
        ("no", ["YES"], 0.0, 0.0),
    ],
)
def test_cmrc_scores(prediction: str, references: list[str], em: float, f1: float) -> None:
    assert cmrc_em(prediction, references) == em
    assert cmrc_f1(prediction, references) == pytest.approx(f1)


# --- CJRC ---------------------------------------------------------------------------------------


def test_cjrc_chars_keep_letters_and_digits() -> None:
    assert cjrc_chars("ZL2012-3.5号，") == ["z", "l", "2", "0", "1", "2", "3", "5", "号"]


def test_leave_one_out() -> None:
    # leave out each score in turn and take the best of the rest: (0.8 + 1 + 1) / 3
    assert leave_one_out([1.0, 0.8, 0.0]) == pytest.approx(2.8 / 3)
    assert leave_one_out([0.5]) == 0.5


@pytest.mark.parametrize(
    ("prediction", "references", "em", "f1"),
    [
        # pred 人民币19656元 (9 chars) vs 19656元 (6): common 1,9,6,5,6,元 = 6 -> P 2/3, R 1 -> 0.8
        ("人民币19656元", ["19656元"], 0.0, 0.8),
        # a bag of characters ignores order: 56691元 has the same characters as 19656元
        ("56691元", ["19656元"], 0.0, 1.0),
        # one reference scores alone: 北京 vs 北京市 -> P 1, R 2/3 -> 0.8
        ("北京", ["北京市"], 0.0, 0.8),
        # against 北京 / 北京市 / 上海 the F1s are 1, 0.8, 0; leaving each out in turn gives
        # max(0.8, 0) + max(1, 0) + max(1, 0.8) = 2.8 over 3; EM: 0 + 1 + 1 over 3
        ("北京", ["北京", "北京市", "上海"], 2 / 3, 2.8 / 3),
        # duplicate references count: 北京 / 北京 / 上海 -> EM 1 + 1 + 1 over 3
        ("北京", ["北京", "北京", "上海"], 1.0, 1.0),
        ("《北京》", ["北京"], 1.0, 1.0),
        ("", [""], 1.0, 1.0),  # unanswerable, answered as such
        ("不知道", [""], 0.0, 0.0),
        ("", ["北京"], 0.0, 0.0),
        ("YES", ["YES"], 1.0, 1.0),
        ("yes", ["YES"], 1.0, 1.0),  # lower-cased, as the official script does
        ("NO", ["YES"], 0.0, 0.0),  # n, o share no character with y, e, s
    ],
)
def test_cjrc_scores(prediction: str, references: list[str], em: float, f1: float) -> None:
    assert cjrc_em(prediction, references) == pytest.approx(em)
    assert cjrc_f1(prediction, references) == pytest.approx(f1)


# --- evaluate() ---------------------------------------------------------------------------------


def gold(qid: str, references: list[tuple[str, ...]], domain: str | None = None) -> QAExample:
    types = {("",): AnswerType.NONE, ("YES",): AnswerType.YES, ("NO",): AnswerType.NO}
    answer_type = types.get(references[0], AnswerType.SPAN)
    return QAExample(qid, "问？", "北京", (), answer_type, tuple(references), domain=domain)


GOLD = [
    gold("q1", [("北京",), ("北京市",), ("上海",)], "civil"),
    gold("q2", [("",)], "civil"),
    gold("q3", [("YES",)], "criminal"),
    gold("q4", [("人民币19656元",)], "criminal"),
]
PREDICTIONS = {"q1": "北京", "q2": "", "q4": "19656元"}  # q3 missing


def test_evaluate_cjrc_with_domains() -> None:
    # per question (EM, F1): q1 (2/3, 2.8/3), q2 (1, 1), q3 missing (0, 0), q4 (0, 0.8)
    # (q4: 19656元 vs 人民币19656元 -> P 1, R 6/9 -> 0.8)
    result = evaluate(GOLD, PREDICTIONS, "cjrc")
    assert result == {
        "em": pytest.approx(100 * (2 / 3 + 1) / 4),  # 41.667
        "f1": pytest.approx(100 * (2.8 / 3 + 1 + 0.8) / 4),  # 68.333
        "total": 4,
        "missing": 1,
        "domains": {
            "civil": {
                "em": pytest.approx(100 * (2 / 3 + 1) / 2),  # 83.333
                "f1": pytest.approx(100 * (2.8 / 3 + 1) / 2),  # 96.667
                "total": 2,
                "missing": 0,
            },
            "criminal": {"em": 0.0, "f1": pytest.approx(40.0), "total": 2, "missing": 1},
        },
        "answer_types": {
            "span": {
                "em": pytest.approx(100 * (2 / 3) / 2),  # q1 and q4
                "f1": pytest.approx(100 * (2.8 / 3 + 0.8) / 2),
                "total": 2,
                "missing": 0,
            },
            "yes": {"em": 0.0, "f1": 0.0, "total": 1, "missing": 1},
            "none": {"em": 100.0, "f1": 100.0, "total": 1, "missing": 0},
        },
    }


def test_evaluate_cmrc() -> None:
    # q1 best reference 北京 (1, 1); q2 empty vs empty (1, 1); q3 missing (0, 0);
    # q4 [19656,元] vs [人,民,币,19656,元]: run 2 -> P 1, R 2/5 -> F1 4/7
    result = evaluate(GOLD, PREDICTIONS, "cmrc")
    assert result == {
        "em": 50.0,
        "f1": pytest.approx(100 * (2 + 4 / 7) / 4),  # 64.286
        "total": 4,
        "missing": 1,
        "answer_types": {
            "span": {
                "em": 50.0,
                "f1": pytest.approx(100 * (1 + 4 / 7) / 2),
                "total": 2,
                "missing": 0,
            },
            "yes": {"em": 0.0, "f1": 0.0, "total": 1, "missing": 1},
            "none": {"em": 100.0, "f1": 100.0, "total": 1, "missing": 0},
        },
    }


def test_evaluate_joins_multi_answer_predictions_and_references() -> None:
    both = QAExample(
        "m1", "谁？", "张三和李四", (AnswerSpan("张三", 0), AnswerSpan("李四", 3)),
        AnswerType.SPAN, (("张三", "李四"),),
    )  # fmt: skip
    assert evaluate([both], {"m1": ["张三", "李四"]}, "cmrc")["em"] == 100.0
    # 李四张三 vs 张三李四: CMRC's longest run is 2 of 4 tokens (F1 50), CJRC's bag is equal
    swapped = {"m1": ["李四", "张三"]}
    assert (evaluate([both], swapped, "cmrc")["f1"], evaluate([both], swapped, "cjrc")["f1"]) == (
        pytest.approx(50.0),
        pytest.approx(100.0),
    )


def test_evaluate_rejects_an_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric 'bleu'; choose from cmrc, cjrc"):
        evaluate(GOLD, PREDICTIONS, "bleu")


# --- Prediction files ---------------------------------------------------------------------------


def test_read_predictions_accepts_both_styles(tmp_path: Path) -> None:
    cmrc = tmp_path / "cmrc.json"
    cmrc.write_text(json.dumps({"q1": "北京", "q2": ["张三", "李四"]}), encoding="utf-8")
    cjrc = tmp_path / "cjrc.json"
    cjrc.write_text(json.dumps([{"id": "q1", "answer": "北京"}, {"id": "q2", "answer": ""}]))
    assert read_predictions(cmrc) == {"q1": "北京", "q2": ["张三", "李四"]}
    assert read_predictions(cjrc) == {"q1": "北京", "q2": ""}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"q1": 3}', "id 'q1': the answer must be a string or a list of strings, got an integer"),
        ('[{"id": "q1"}]', 'entry 0: expected {"id": string, "answer": ...}'),
        (
            '[{"id": "q1", "answer": "a"}, {"id": "q1", "answer": "b"}]',
            "entry 1: duplicate id 'q1'",
        ),
        (
            '[{"id": "q1", "answer": [1]}]',
            "entry 0 (id 'q1'): the answer must be a string or a list of strings, got an array",
        ),
        ('"x"', 'expected {id: answer} or [{"id", "answer"}, ...], got a string'),
        (
            "{",
            "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
    ],
)
def test_read_predictions_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pred.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PredictionError) as caught:
        read_predictions(path)
    separator = ": " if message.startswith(("expected", "invalid")) else ", "
    assert str(caught.value) == f"{path}{separator}{message}"


# --- Command line -------------------------------------------------------------------------------

SQUAD_GOLD = {
    "data": [
        {
            "domain": domain,
            "paragraphs": [
                {
                    "context": "被告人张三于2019年在北京盗窃人民币19656元。",
                    "qas": [
                        {"id": qid, "question": "问？", "answers": answers} for qid, answers in qas
                    ],
                }
            ],
        }
        for domain, qas in [
            ("criminal", [("c1", [{"text": "人民币19656元", "answer_start": 16}])]),
            ("civil", [("v1", [{"text": "YES", "answer_start": -1}]), ("v2", [])]),
        ]
    ]
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model.evaluate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(SQUAD_GOLD, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_json_with_cjrc_predictions(gold_file: Path, tmp_path: Path) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps([{"id": "c1", "answer": "19656元"}, {"id": "v1", "answer": "YES"}]))
    done = run_cli("--gold", str(gold_file), "--pred", str(pred), "--json")
    assert done.returncode == 0, done.stderr
    # c1 F1 0.8 (see test_cjrc_scores), v1 exact, v2 missing; the domains make CJRC the default
    assert json.loads(done.stdout) == {
        "em": pytest.approx(100 / 3),
        "f1": pytest.approx(100 * 1.8 / 3),
        "total": 3,
        "missing": 1,
        "domains": {
            "civil": {"em": 50.0, "f1": 50.0, "total": 2, "missing": 1},
            "criminal": {"em": 0.0, "f1": pytest.approx(80.0), "total": 1, "missing": 0},
        },
        "answer_types": {
            "span": {"em": 0.0, "f1": pytest.approx(80.0), "total": 1, "missing": 0},
            "yes": {"em": 100.0, "f1": 100.0, "total": 1, "missing": 0},
            "none": {"em": 0.0, "f1": 0.0, "total": 1, "missing": 1},
        },
    }


def test_cli_table_with_cmrc_predictions(gold_file: Path, tmp_path: Path) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"c1": "人民币19656元", "v1": "NO", "v2": ""}))
    done = run_cli("--gold", str(gold_file), "--pred", str(pred), "--metric", "cmrc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "metric: cmrc",
        "           questions missing      EM      F1",
        "gold span          1       0 100.000 100.000",
        "gold yes           1       0   0.000   0.000",
        "gold none          1       0 100.000 100.000",
        "overall            3       0  66.667  66.667",
    ]


def test_cli_reports_unreadable_files(gold_file: Path, tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    done = run_cli("--gold", str(gold_file), "--pred", str(absent))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: {absent}: cannot read: No such file or directory\n"
    done = run_cli("--gold", str(absent), "--pred", str(gold_file))
    assert done.stderr == f"error: {absent}: cannot read: No such file or directory\n"
    done = run_cli("--gold", str(gold_file))
    assert done.returncode == 2
    assert "the following arguments are required: --pred" in done.stderr


def test_readers_and_scoring_do_not_import_tensorflow() -> None:
    code = "import sys, model.readers, model.evaluate; print('tensorflow' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "False\n", done.stderr


def test_answer_type_summary_reads_as_a_log_line() -> None:
    summary = answer_type_summary(evaluate(GOLD, PREDICTIONS, "cjrc"))
    assert summary == "span 33.3 / 86.7 (2), yes 0.0 / 0.0 (1), none 100.0 / 100.0 (1)"
