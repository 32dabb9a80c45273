"""Train the reading-comprehension model from the command line.

    python -m model.train --train FILE [--train FILE ...] --dev FILE [--dev FILE ...] --out DIR

Any format the readers accept (SQuAD-style JSON, JSON Lines). Dev EM/F1 are computed every
epoch with the project's own scorer; the best epoch's weights are kept, training stops early
when dev F1 stops improving, and re-running the same command on the same DIR resumes.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from gensim.models import KeyedVectors
from tqdm import tqdm

from contract.config import ContractConfig
from contract.encode import EncodedExample, Encoder, SpanAlignmentError
from contract.examples import ANSWER_TYPES, AnswerType, QAExample
from contract.vocab import Vocabulary
from contract.words import WordSegmenter
from model.config import QUESTION_POOLINGS, ModelConfig
from model.dataset import (
    Batcher,
    TrainingRow,
    build_vocabularies,
    encode_examples,
    training_rows,
)
from model.evaluate import answer_type_summary
from model.losses import balanced_class_weights
from model.network import build_model, set_word_vectors
from model.plots import plot_curves
from model.predict import KerasPredictor
from model.readers import ReaderError, read_examples, repeated_ids
from model.run_dir import (
    BEST_WEIGHTS,
    CHARS,
    CONFIG,
    CURVES,
    HISTORY,
    RESUME,
    SUMMARY,
    WORDS,
    RunConfig,
    load_vocabularies,
    write_json,
)
from model.threshold import score_dev, threshold_grid
from model.trainer import StepSettings, Trainer
from model.vectors import (
    embedding_matrix,
    load_vectors,
    restrict_vectors,
    train_word2vec,
    unit_mean_norm,
    words_beyond,
)

log = logging.getLogger("model.train")


class TrainingError(Exception):
    """The inputs cannot be trained on; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.split("\n")[0])
    p.add_argument("--train", action="append", required=True, help="training file (repeatable)")
    p.add_argument(
        "--dev",
        action="append",
        required=True,
        help="dev file scored every epoch (repeatable: the files are scored as one set)",
    )
    p.add_argument("--out", required=True, type=Path, help="run directory (resumed if present)")
    p.add_argument("--metric", choices=("cmrc", "cjrc"), default="cmrc")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=3, help="epochs without dev F1 gain")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="cosine: decay to 5%% of the rate over --epochs",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-train-examples", type=int, default=None)
    p.add_argument("--max-dev-examples", type=int, default=None)
    p.add_argument(
        "--min-score",
        type=float,
        default=None,
        help=(
            "strict decoder threshold, no fallback; default: min_score and fallback_min_score "
            "chosen on dev from 0.05-0.95, saved with the run"
        ),
    )
    g = p.add_argument_group("text and windows")
    g.add_argument("--window-len", type=int, default=512)
    g.add_argument("--window-stride", type=int, default=384)
    g.add_argument("--max-question-len", type=int, default=64)
    g.add_argument("--user-dict", type=Path, default=None, help="jieba user dictionary")
    g.add_argument("--max-chars", type=int, default=6000)
    g.add_argument("--max-words", type=int, default=50000)
    g = p.add_argument_group("word vectors")
    g.add_argument("--vectors", type=Path, default=None, help="word2vec/gensim vectors file")
    g.add_argument(
        "--vector-words",
        type=int,
        default=0,
        help="also give the word vocabulary the first N words of --vectors missing from training",
    )
    g.add_argument(
        "--with-word2vec",
        action="store_true",
        help="with --vectors, also train word2vec on the training texts; each word gets both",
    )
    g.add_argument("--word-dim", type=int, default=100, help="word2vec size when training one")
    g.add_argument("--w2v-epochs", type=int, default=5)
    g.add_argument("--word-trainable", action="store_true", help="fine-tune word vectors")
    g = p.add_argument_group("network")
    g.add_argument("--char-dim", type=int, default=128)
    g.add_argument("--hidden-dim", type=int, default=128)
    g.add_argument("--dropout", type=float, default=0.1)
    g.add_argument("--passage-dilations", default="1,2,4,8,1,2,4,1")
    g.add_argument("--question-dilations", default="1,2,1")
    g.add_argument("--modeling-dilations", default="1,2,4,1")
    g.add_argument("--condition-on-question", action="store_true")
    g.add_argument(
        "--no-question-match",
        dest="question_match",
        action="store_false",
        help="ignore the passage_match features (to measure what they add)",
    )
    g.add_argument("--question-pooling", choices=QUESTION_POOLINGS, default="attention")
    g = p.add_argument_group("what the DGCNN literature tried")
    g.add_argument("--ema", type=float, default=0.99, help="EMA decay for eval; 0 = off")
    g.add_argument("--focal-gamma", type=float, default=0.0)
    g.add_argument("--bio-weight", type=float, default=1.0, help="BIO loss weight vs type loss")
    g.add_argument(
        "--span-weight", type=float, default=1.0, help="weight of B/I positions in the BIO loss"
    )
    g.add_argument(
        "--boundary-weight",
        type=float,
        default=1.0,
        help="loss weight of the start/end pointer head that places span ends; 0 = no head",
    )
    g.add_argument("--word-dropout", type=float, default=0.0)
    g.add_argument("--label-all-occurrences", action="store_true")
    g.add_argument("--yes-no-evidence", action="store_true")
    g.add_argument(
        "--balance-answer-types",
        action="store_true",
        help="weigh the answer-type loss so each type counts the same in total",
    )
    return p.parse_args(argv)


def _rates(text: str) -> tuple[int, ...]:
    return tuple(int(r) for r in text.split(","))


def _type_class_weights(rows: list[TrainingRow]) -> tuple[float, ...]:
    weights = balanced_class_weights([row.answer_type for row in rows], len(ANSWER_TYPES))
    log.info(
        "answer-type loss weights: %s",
        ", ".join(
            f"{kind.value} {weight:.2f}" for kind, weight in zip(ANSWER_TYPES, weights, strict=True)
        ),
    )
    return weights


def load_training_data(paths: list[str], limit: int | None) -> list[QAExample]:
    examples: list[QAExample] = []
    for path in paths:
        examples.extend(read_examples(path, strict=False))
    examples = examples[:limit] if limit else examples
    if not any(e.answer_type is AnswerType.SPAN for e in examples):
        raise TrainingError(f"no answerable (span) questions in {', '.join(paths)}")
    return examples


def _floor_text(fallback_min_score: float | None) -> str:
    return "off" if fallback_min_score is None else f"from {fallback_min_score:.2f}"


def load_dev_data(paths: list[str], limit: int | None) -> list[QAExample]:
    """All questions of the dev files, as one set; ids must be unique across the files, since
    predictions are matched to questions by id."""
    examples = [example for path in paths for example in read_examples(path, strict=False)]
    examples = examples[:limit] if limit else examples
    if not examples:
        raise TrainingError(f"no questions in dev file {', '.join(paths)}")
    repeated = repeated_ids(examples)
    if repeated:
        raise TrainingError(
            f"{len(repeated)} question ids appear more than once in {', '.join(paths)} "
            f"(e.g. {repeated[0]!r}); dev questions are scored by id, so ids must be unique"
        )
    return examples


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    try:
        summary = train(args)
    except (TrainingError, ReaderError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"best dev EM {summary['best']['em']:.2f} F1 {summary['best']['f1']:.2f} "
        f"(epoch {summary['best']['epoch']}, min_score {summary['best']['min_score']:.2f}, "
        f"fallback {_floor_text(summary['best']['fallback_min_score'])}), "
        f"run in {args.out}"
    )
    return 0


def _word_vectors(
    args: argparse.Namespace,
    word_vocab: Vocabulary,
    train_encoded: list[EncodedExample],
    segmenter: WordSegmenter,
) -> tuple[Vocabulary, list[KeyedVectors]]:
    """The word vocabulary (with ``--vector-words`` added) and the vectors whose side-by-side
    rows fill the word embedding: the ``--vectors`` file, word2vec trained on the training
    texts, or both with ``--with-word2vec``."""
    sources = []
    if args.vectors:
        loaded = load_vectors(args.vectors)
        extra = words_beyond(word_vocab, loaded, args.vector_words)
        word_vocab = Vocabulary([*word_vocab.tokens, *extra])
        sources.append(unit_mean_norm(restrict_vectors(loaded, word_vocab.tokens)))
        log.info("word vocabulary: %d words of the vectors added to training's", len(extra))
    if not args.vectors or args.with_word2vec:
        texts = {e.passage.text: None for e in train_encoded}
        texts.update({"".join(e.question.chars): None for e in train_encoded})
        sentences = [segmenter.words(text) for text in texts]
        sources.insert(0, train_word2vec(sentences, args.word_dim, args.seed, args.w2v_epochs))
    return word_vocab, sources


def train(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        raise TrainingError(f"--min-score must be from 0 to 1, got {args.min_score}")
    if args.vector_words and not args.vectors:
        raise TrainingError("--vector-words adds words of --vectors FILE; give the file")
    if args.with_word2vec and not args.vectors:
        raise TrainingError("--with-word2vec adds word2vec to --vectors FILE; give the file")
    if args.vector_words < 0:
        raise TrainingError(f"--vector-words must be 0 or more, got {args.vector_words}")
    train_examples = load_training_data(args.train, args.max_train_examples)
    dev_examples = load_dev_data(args.dev, args.max_dev_examples)
    log.info("data: %d training and %d dev questions", len(train_examples), len(dev_examples))

    out: Path = args.out
    if (out / CONFIG).is_file() and RunConfig.load(out).members:
        raise TrainingError(f"{out} holds an ensemble, not a run: train its members instead")
    out.mkdir(parents=True, exist_ok=True)
    resuming = (out / RESUME / "state.json").is_file()
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    if resuming:
        run_config = RunConfig.load(out)
        contract = run_config.contract
        char_vocab, word_vocab = load_vocabularies(out)
        log.info("resuming the run in %s", out)
    else:
        contract = ContractConfig(
            window_len=args.window_len,
            window_stride=args.window_stride,
            max_question_len=args.max_question_len,
        )
    segmenter = WordSegmenter.from_file(args.user_dict)
    encoder = Encoder(contract, segmenter)
    train_encoded = encode_examples(train_examples, encoder, "encoding train")
    dev_encoded = encode_examples(dev_examples, encoder, "encoding dev")
    try:
        rows = training_rows(
            train_examples, train_encoded, args.label_all_occurrences, args.yes_no_evidence
        )
    except SpanAlignmentError as error:
        raise TrainingError(str(error)) from error

    if not resuming:
        char_vocab, word_vocab = build_vocabularies(train_encoded, args.max_chars, args.max_words)
        word_vocab, vector_sources = _word_vectors(args, word_vocab, train_encoded, segmenter)
        char_vocab.save(out / CHARS)
        word_vocab.save(out / WORDS)
        model_config = ModelConfig(
            char_vocab_size=len(char_vocab),
            word_vocab_size=len(word_vocab),
            char_dim=args.char_dim,
            word_dim=sum(vectors.vector_size for vectors in vector_sources),
            hidden_dim=args.hidden_dim,
            passage_dilations=_rates(args.passage_dilations),
            question_dilations=_rates(args.question_dilations),
            modeling_dilations=_rates(args.modeling_dilations),
            dropout=args.dropout,
            word_trainable=args.word_trainable,
            condition_on_question=args.condition_on_question,
            question_match=args.question_match,
            question_pooling=args.question_pooling,
            boundary_head=args.boundary_weight > 0,
            max_passage_len=contract.window_len,
            max_question_len=contract.max_question_len,
        )
        training_settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        run_config = RunConfig(model_config, contract, training_settings)
        run_config.save(out)

    model = build_model(run_config.model)
    if not resuming:
        matrices = [embedding_matrix(word_vocab, v, args.seed)[0] for v in vector_sources]
        set_word_vectors(model, np.hstack(matrices))
    batches_per_epoch = -(-len(rows) // args.batch_size)
    settings = StepSettings(
        learning_rate=args.learning_rate,
        bio_weight=args.bio_weight,
        focal_gamma=args.focal_gamma,
        span_weight=args.span_weight,
        word_dropout=args.word_dropout,
        ema_decay=args.ema,
        decay_steps=args.epochs * batches_per_epoch if args.lr_schedule == "cosine" else 0,
        type_class_weights=_type_class_weights(rows) if args.balance_answer_types else None,
        boundary_weight=args.boundary_weight,
    )
    trainer = Trainer(model, settings, args.seed)
    state: dict[str, Any] = {"epoch": 0, "history": [], "best": None, "stale": 0, "seconds": 0.0}
    if resuming:
        state = trainer.load_state(out / RESUME)

    batcher = Batcher(contract, char_vocab, word_vocab, args.batch_size)
    predictor = KerasPredictor(model, contract, char_vocab, word_vocab, args.batch_size)
    thresholds = threshold_grid() if args.min_score is None else [(args.min_score, None)]

    while state["epoch"] < args.epochs and state["stale"] < args.patience:
        epoch = state["epoch"] + 1
        epoch_started = time.time()
        rng = np.random.default_rng([args.seed, epoch])
        losses = []
        progress = tqdm(
            batcher.batches(rows, rng),
            total=batches_per_epoch,
            desc=f"epoch {epoch}/{args.epochs}",
            unit="batch",
            disable=None,
        )
        for batch in progress:
            losses.append(trainer.step(batch))
            progress.set_postfix(loss=f"{losses[-1]['loss']:.4f}")
        train_seconds = time.time() - epoch_started

        trainer.swap_ema()
        choice = score_dev(
            dev_examples,
            dev_encoded,
            predictor.outputs(dev_encoded),
            top_k=contract.top_k,
            metric=args.metric,
            thresholds=thresholds,
        )
        scores = choice.scores
        chosen = {"min_score": choice.min_score, "fallback_min_score": choice.fallback_min_score}
        improved = state["best"] is None or scores["f1"] > state["best"]["f1"]
        if improved:
            # the checkpoint and the threshold it was scored at are saved together, so a run
            # stopped at any point exports what its best epoch measured
            model.save_weights(out / BEST_WEIGHTS)
            best_contract = replace(run_config.contract, **chosen)
            RunConfig(run_config.model, best_contract, run_config.training).save(out)
        trainer.swap_ema()

        record = {
            "epoch": epoch,
            "loss": float(np.mean([x["loss"] for x in losses])),
            "bio_loss": float(np.mean([x["bio_loss"] for x in losses])),
            "type_loss": float(np.mean([x["type_loss"] for x in losses])),
            "dev_em": scores["em"],
            "dev_f1": scores["f1"],
            "dev_answer_types": scores["answer_types"],
            **chosen,
            "train_seconds": train_seconds,
            "rows_per_second": len(rows) / train_seconds,
        }
        state["history"].append(record)
        state["epoch"] = epoch
        state["seconds"] += time.time() - epoch_started
        if improved:
            state["best"] = {
                "epoch": epoch,
                "em": scores["em"],
                "f1": scores["f1"],
                **chosen,
            }
            state["stale"] = 0
        else:
            state["stale"] += 1
        log.info(
            "epoch %d: loss %.4f, dev EM %.2f F1 %.2f at min_score %.2f, fallback %s%s "
            "(%.0f rows/s)",
            epoch,
            record["loss"],
            scores["em"],
            scores["f1"],
            choice.min_score,
            _floor_text(choice.fallback_min_score),
            " (best so far)" if improved else "",
            record["rows_per_second"],
        )
        log.info(
            "epoch %d: dev EM / F1 by gold answer type: %s", epoch, answer_type_summary(scores)
        )
        trainer.save_state(out / RESUME, state)
        write_json(out / HISTORY, state["history"])
        plot_curves(state["history"], out / CURVES)

    if state["stale"] >= args.patience:
        log.info("stopped early: dev F1 did not improve for %d epochs", args.patience)
    summary = {
        "train_files": args.train,
        "dev_files": args.dev,
        "train_questions": len(train_examples),
        "train_windows": len(rows),
        "dev_questions": len(dev_examples),
        "metric": args.metric,
        "epochs": state["epoch"],
        "best": state["best"],
        "wall_seconds": round(state["seconds"], 1),
        "process_seconds": round(time.time() - started, 1),
        "train_windows_per_second": round(
            float(np.mean([h["rows_per_second"] for h in state["history"]])), 1
        ),
        "parameters": model.count_params(),
        "hardware": {"machine": platform.machine(), "cpus": os.cpu_count()},
        "tensorflow": tf.__version__,
    }
    write_json(out / SUMMARY, summary)
    return summary


if __name__ == "__main__":
    sys.exit(main())
