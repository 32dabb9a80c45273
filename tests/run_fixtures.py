"""Small real training runs for tests: an untrained run (random weights, for export checks),
and what a run's Keras network answers, to compare exported models with."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from contract.config import ContractConfig
from contract.encode import Encoder
from contract.served import ServedContract
from contract.tensors import batch_inputs
from contract.vocab import Vocabulary
from model.config import ModelConfig
from model.run_dir import BEST_WEIGHTS, CHARS, WORDS, RunConfig, load_vocabularies

TEXTS = [
    "被告人张三，男，1990年3月5日出生，住北京市朝阳区建国路88号。",
    "被告人李四于2019年5月12日在上海市浦东新区盗窃人民币3,500元。",
    "原告ABC公司诉被告王五买卖合同纠纷一案，本院依法审理。",
]


def make_untrained_run(
    run_dir: Path, contract: ContractConfig | None = None, small: bool = True
) -> Path:
    """A run directory whose network has random weights but is otherwise complete; ``small``
    shrinks the network for fast tests, else it has the default sizes (for benchmarks)."""
    from model.network import build_model

    contract = contract or ContractConfig(window_len=128, window_stride=96, max_question_len=32)
    encoder = Encoder(contract)
    chars: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for text in TEXTS:
        window = encoder.encode("谁？", text).windows[0]
        chars.update(window.chars)
        words.update(window.words)
    char_vocab, word_vocab = Vocabulary.from_counts(chars), Vocabulary.from_counts(words)
    run_dir.mkdir(parents=True, exist_ok=True)
    char_vocab.save(run_dir / CHARS)
    word_vocab.save(run_dir / WORDS)
    sizes = {
        "char_dim": 32,
        "word_dim": 16,
        "hidden_dim": 32,
        "passage_dilations": (1, 2),
        "question_dilations": (1,),
        "modeling_dilations": (1, 2),
    }
    model_config = ModelConfig(
        char_vocab_size=len(char_vocab),
        word_vocab_size=len(word_vocab),
        max_passage_len=contract.window_len,
        max_question_len=contract.max_question_len,
        boundary_head=True,
        **(sizes if small else {}),
    )
    RunConfig(model_config, contract, {"user_dict": None}).save(run_dir)
    build_model(model_config).save_weights(run_dir / BEST_WEIGHTS)
    return run_dir


def keras_outputs(run: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the run's (or ensemble's) Keras network, rebuilt from its config, gives for
    contract arrays."""
    from model.dataset import id_inputs
    from model.ensemble import load_network

    network = load_network(run)
    chars, words = load_vocabularies(run)
    out = network(id_inputs(arrays, chars, words), training=False)
    return {k: np.asarray(v) for k, v in out.items()}


def real_inputs(version_dir: Path) -> dict[str, np.ndarray]:
    """Contract arrays for three questions on ``TEXTS`` (with unknown words), as served."""
    encoder = ServedContract.load(version_dir).encoder()
    rows = []
    for question, text in zip(
        ["张三住在哪里？", "盗窃了多少钱？", "原告是谁？"], TEXTS, strict=True
    ):
        example = encoder.encode(question, text + "未登录词汇：魑魅魍魉")
        rows.append((example.question, example.windows[0]))
    return batch_inputs(rows, encoder.config)
