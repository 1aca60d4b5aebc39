"""Text as the risk engine reads it: the same words however they were typed.

People in distress type fast, on phones, in their own shorthand. Before any
layer looks for risk, a message is brought to one spelling:
- Unicode folded (NFKC), lower case, curly quotes straightened;
- digits used as letters inside a word ("k1ll", "su1c1de") read as letters, when
  that gives a word of the risk lexicon;
- "2" and "4" read as "to" and "for" where a word beside them says so
  ("want 2 die", "2 end it", "gone 4 good");
- text-speak and common misspellings rewritten (knowledge/safety/risk_patterns.yaml
  `rewrite`, knowledge/safety/lexicon.yaml `text_speak`);
- apostrophes dropped ("can't" and "cant" are one word);
- a word one or two edits from a word of the risk lexicon ("sucidal", "paracetomol")
  read as that word (rapidfuzz's optimal string alignment distance), unless it
  is a real word listed in `keep_as_is`.
`stems()` gives Snowball stems of the normalised words, for the classifier.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEETY = re.compile(r"(?=\S*[a-z])(?=\S*[0-9@$!])[a-z0-9@$!]{3,}")
_TO = re.compile(
    r"\b(want|wanna|wana|going|gonna|need|needs|trying|try|how|ways|way|time|ready|plan|planning|about|"
    r"wanted|decided|deserve|able|go|went) 2\b|\b2 (die|end|kill|be|go|sleep|do|live|hurt|cut|jump|take|"
    r"stop|see|say|disappear|overdose|od)\b"
)
_FOR = re.compile(r"\b4 (good|ever|real|sure)\b|\bgone 4\b")
_CLINICAL = {"SI": "suicidal thoughts", "OD": "overdose", "DSH": "self harm", "NAI": "non accidental injury"}


class Normaliser:
    def __init__(self, rewrite: dict[str, str], risk_words: list[str], keep_as_is: list[str]):
        words = sorted(rewrite, key=len, reverse=True)
        self._rewrite = {w.replace("\u2019", "'"): rewrite[w] or "" for w in words}
        self._rewrite_re = re.compile(
            r"(?<![\w'])(" + "|".join(re.escape(w) for w in self._rewrite) + r")(?![\w'])"
        )
        self._risk_words = tuple(sorted({w.replace("-", " ").replace(" ", "") for w in risk_words}))
        self._risk_set = frozenset(self._risk_words)
        self._keep = frozenset(w.lower() for w in keep_as_is) | self._risk_set
        self._stemmer = snowballstemmer.stemmer("english")

    def normalise(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text or "")
        for short, long in _CLINICAL.items():  # professionals' capitals, before case is lost
            text = re.sub(rf"\b{short}\b", long, text)
        text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
        text = _LEETY.sub(self._unleet, text)
        text = re.sub(r"[^\w\s']", " ", text)
        text = re.sub(r"\s+", " ", text).strip()
        text = _TO.sub(lambda m: m.group(0).replace(" 2", " to").replace("2 ", "to "), text)
        text = _FOR.sub(lambda m: m.group(0).replace("4", "for"), text)
        text = self._rewrite_re.sub(lambda m: self._rewrite[m.group(1)], text)
        text = text.replace("'", "")
        return " ".join(self._correct(word) for word in text.split())

    def stems(self, normal: str) -> list[str]:
        return [_stem(self._stemmer, word) for word in normal.split()]

    def _unleet(self, match: re.Match) -> str:
        word = match.group(0)
        plain = word.translate(LEET)
        return plain if self._correct(plain) in self._risk_set else word

    def _correct(self, word: str) -> str:
        return (
            _closest(word, self._risk_words, self._keep)
            if len(word) >= 5 and word not in self._keep
            else word
        )


@lru_cache(maxsize=65536)
def _stem(stemmer, word: str) -> str:
    return stemmer.stemWord(word)  # Snowball is pure Python: each word is stemmed once


@lru_cache(maxsize=65536)
def _closest_cached(word: str, risk_words: tuple[str, ...]) -> str:
    limit = 1 if len(word) < 10 else 2  # two edits only in long words: "hoarding" is not "harming"
    found = process.extractOne(word, risk_words, scorer=OSA.distance, score_cutoff=limit)
    if found is None:
        return word
    candidate = found[0]
    # The first letter is rarely the one mistyped; requiring it keeps "filling" from "killing".
    return candidate if candidate[0] == word[0] and abs(len(candidate) - len(word)) <= limit else word


def _closest(word: str, risk_words: tuple[str, ...], keep: frozenset[str]) -> str:
    return word if word.isdigit() else _closest_cached(word, risk_words)
