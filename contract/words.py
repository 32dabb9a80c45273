"""jieba word segmentation aligned to model positions: each position carries its word."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)


class WordSegmenter:
    """A private jieba tokenizer, initialised once, with an optional user dictionary.

    ``user_dict`` is the text of a jieba user dictionary (``word [freq] [tag]`` per line); it
    travels inside each exported model so clients segment exactly as training did. A private
    instance keeps one model's dictionary from leaking into another's.
    """

    def __init__(self, user_dict: str = "") -> None:
        self.user_dict = user_dict
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        if user_dict:
            self._tokenizer.load_userdict(io.StringIO(user_dict))

    @classmethod
    def from_file(cls, path: str | Path | None) -> WordSegmenter:
        """The segmenter with the user dictionary at ``path``; the default one without."""
        return cls(Path(path).read_text(encoding="utf-8")) if path else default_segmenter()

    def words(self, text: str) -> list[str]:
        return self._tokenizer.lcut(text)

    def position_words(self, chars: tuple[str, ...] | list[str]) -> list[str]:
        """The word each position belongs to (one entry per position)."""
        aligned: list[str] = []
        for word in self.words("".join(chars)):
            aligned.extend([word] * len(word))
        if len(aligned) != len(chars):
            raise AssertionError("jieba returned words that do not cover the text exactly")
        return aligned


_DEFAULT: WordSegmenter | None = None


def default_segmenter() -> WordSegmenter:
    """The process-wide segmenter without a user dictionary (the dictionary loads once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = WordSegmenter()
    return _DEFAULT
