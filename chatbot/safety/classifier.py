"""The risk engine's own classifier: reads risk the patterns were never written for.

Trained on the team's corpus (knowledge/safety/corpus/: thousands of crisis
messages of every kind and register, and hard negatives from this domain's own
talk), the development sets (tests/data/) and the assistant's ordinary NLU
examples. Features are hashed word uni- and bigrams of Snowball stems and hashed
character 2-5-grams of the normalised text (so misspellings still share most of
their features), with log term frequency and unit length, counted in plain
Python (a message in well under a millisecond).

Four heads, each a logistic regression (thresholds chosen on held-out folds at
training time: check where 1.5% of hard ordinary messages reach it, urgent at 0.2%):
- risk: any sign of risk at all, against this domain's ordinary talk;
- kind: among risky messages, which kind of risk;
- level: among risky messages, danger now (urgent) or an indirect sign (check);
- about: among risky messages, a report about someone else.

The trained weights are plain arrays in models/safety-classifier.npz (no pickle),
with a digest of what they were trained on; `load_classifier()` retrains when the
corpus, the normalisation or this file's FEATURE_VERSION has changed (about a minute).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from scipy import sparse
from sklearn.utils import murmurhash3_32

from chatbot.config import PROJECT_ROOT

CLASSES = ("none", "suicide_self_harm", "overdose", "medical_emergency", "abuse", "child_at_risk")
LABEL = {"suicide": "suicide_self_harm", "self_harm": "suicide_self_harm"}
FEATURE_VERSION = "5"  # change when features or training change, so stored weights are retrained
WORD_FEATURES = 2**18
CHAR_FEATURES = 2**18
MODEL_PATH = PROJECT_ROOT / "models" / "safety-classifier.npz"
# Where the classifier learns from: the corpus and the development sets (never tests/blind).
TRAINING_SOURCES = ("knowledge/safety/corpus", "tests/data/safety", "tests/data")


@dataclass(frozen=True)
class Scores:
    """Per text: probability of each class, of urgency and of being about someone else."""

    classes: np.ndarray  # (n, len(CLASSES)): which kind of risk (a softmax of the one-vs-rest scores)
    risk: np.ndarray  # (n,): any risk at all (the "none" one-vs-rest model's own probability, inverted)
    urgent: np.ndarray  # (n,)
    other: np.ndarray  # (n,)


@dataclass(frozen=True)
class Thresholds:
    check: float  # risk at or above: at least the check question
    urgent: float  # risk at or above, with the level head's vote: urgent
    urgent_level: float = 1.01  # or: risk at the check level and the level head at least this sure


class Featuriser:
    """Hashed word and character n-grams, counted in plain Python: a message in microseconds.

    The same function makes the features for training and for use, so they always agree.
    """

    def __init__(self, stems):
        self._stems = stems

    def indices(self, normal: str) -> dict[int, float]:
        logged = self.logged(normal)
        if not logged:
            return logged
        norm = math.sqrt(sum(v * v for v in logged.values()))
        return {k: v / norm for k, v in logged.items()}

    def logged(self, normal: str) -> dict[int, float]:
        """The log term frequencies, before they are made unit length."""
        counts: dict[int, float] = {}
        stems = self._stems(normal)
        for gram in stems + [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]:
            key = _word_key(gram)
            counts[key] = counts.get(key, 0.0) + 1.0
        for word in normal.split():
            for key in _char_keys(word):
                counts[key] = counts.get(key, 0.0) + 1.0
        return {k: math.log1p(v) for k, v in counts.items()}

    def transform(self, normals: list[str]) -> sparse.csr_matrix:
        rows, cols, values = [], [], []
        for row, normal in enumerate(normals):
            for col, value in self.indices(normal).items():
                rows.append(row)
                cols.append(col)
                values.append(value)
        shape = (len(normals), WORD_FEATURES + CHAR_FEATURES)
        return sparse.csr_matrix((np.array(values, dtype=np.float32), (rows, cols)), shape=shape)


@lru_cache(maxsize=131072)
def _word_key(gram: str) -> int:
    return murmurhash3_32("w" + gram, positive=True) % WORD_FEATURES


@lru_cache(maxsize=131072)
def _char_keys(word: str) -> tuple[int, ...]:
    """The hashed character 2-5-grams of one word, padded with spaces: each word hashed once."""
    padded = f" {word} "
    return tuple(
        WORD_FEATURES + murmurhash3_32(padded[i : i + n], positive=True) % CHAR_FEATURES
        for n in range(2, 6)
        for i in range(len(padded) - n + 1)
    )


class RiskClassifier:
    def __init__(self, weights: np.ndarray, bias: np.ndarray, thresholds: Thresholds, featuriser: Featuriser):
        self._weights = weights  # (features, 8): risk, the five kinds, level, about
        self._bias = bias
        self.thresholds = thresholds
        self._featuriser = featuriser

    def scores(self, normals: list[str]) -> Scores:
        logits = np.empty((len(normals), self._weights.shape[1]), dtype=np.float32)
        for row, normal in enumerate(normals):
            features = self._featuriser.indices(normal)
            keys = np.fromiter(features, dtype=np.int64, count=len(features))
            values = np.fromiter(features.values(), dtype=np.float32, count=len(features))
            logits[row] = values @ self._weights[keys] if len(keys) else 0.0
        return self._from_logits(logits + self._bias)

    def trace(self, normal: str) -> tuple[float, ...]:
        """What a message leaves for reading the next one (`joined`): its features' sums against
        each head's weights, before length normalisation, and their squared length. Eight
        weighted sums and a length: the text cannot be read back from them."""
        logged = self._featuriser.logged(normal)
        if not logged:
            return ()
        keys = np.fromiter(logged, dtype=np.int64, count=len(logged))
        values = np.fromiter(logged.values(), dtype=np.float32, count=len(logged))
        sums = values @ self._weights[keys]
        return (*(round(float(v), 4) for v in sums), round(float(values @ values), 4))

    def joined(self, earlier: tuple[float, ...], now: tuple[float, ...]) -> Scores | None:
        """The scores of the last message and this one read as one text, from their traces:
        as if their features were added (shared n-grams count once in the length)."""
        if len(earlier) != self._weights.shape[1] + 1 or not now:
            return None
        sums = np.asarray(earlier[:-1], dtype=np.float32) + np.asarray(now[:-1], dtype=np.float32)
        length = math.sqrt(earlier[-1] + now[-1])
        return self._from_logits((sums / length + self._bias)[None, :])

    def _scores_of(self, features: sparse.csr_matrix) -> Scores:
        return self._from_logits(np.asarray(features @ self._weights) + self._bias)

    def _from_logits(self, logits: np.ndarray) -> Scores:
        # Columns: risk (any at all), the five kinds of risk, urgency, about someone else.
        kinds = logits[:, 1 : len(CLASSES)]
        kinds = np.exp(kinds - kinds.max(axis=1, keepdims=True))
        kinds /= kinds.sum(axis=1, keepdims=True)
        sigmoid = 1.0 / (1.0 + np.exp(-logits[:, [0, len(CLASSES), len(CLASSES) + 1]]))
        classes = np.hstack([1.0 - sigmoid[:, :1], kinds * sigmoid[:, :1]])
        return Scores(classes, sigmoid[:, 0], sigmoid[:, 1], sigmoid[:, 2])


# --- training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    urgent: bool = False
    other: bool = False


def training_files(root: Path = PROJECT_ROOT) -> list[Path]:
    files: list[Path] = []
    for folder in TRAINING_SOURCES:
        files += sorted((root / folder).glob("*.yml"))
    return [f for f in files if "blind" not in f.parts]


def corpus_digest(files: Iterable[Path], nlu_dir: Path) -> str:
    digest = hashlib.sha256(FEATURE_VERSION.encode())
    normalisation = [
        PROJECT_ROOT / "knowledge" / "safety" / n for n in ("lexicon.yaml", "risk_patterns.yaml")
    ]
    for path in sorted(files) + sorted(nlu_dir.rglob("*.yml")) + normalisation:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_examples(files: list[Path], nlu_dir: Path) -> list[Example]:
    from chatbot.nlu.training_data import plain_examples

    examples: list[Example] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows = (
            data.get("examples") or data.get("cases") or data.get("messages") or data.get("negatives") or []
        )
        for row in rows:
            if isinstance(row, str):
                examples.append(Example(row, "none"))
            elif row.get("prior"):
                continue  # risky only in the light of earlier messages: the engine's memory reads those
            elif "category" in row:
                label = LABEL.get(row["category"], row["category"])
                if label in CLASSES:
                    examples.append(
                        Example(
                            str(row["text"]),
                            label,
                            row.get("level", "urgent") == "urgent",
                            row.get("about") == "other",
                        )
                    )
            else:
                examples.append(Example(str(row["text"]), "none"))
    examples += [Example(text, "none") for _, text in plain_examples(nlu_dir, exclude_intents=("crisis",))]
    return examples


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) > 4]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def augmented(examples: list[Example], seed: int = 20261201) -> tuple[list[Example], list[int]]:
    """Each example once more with a typo, and once more as a report by someone else: a crisis
    and an ordinary message alike, so "my son says" or "my partner" is no sign of risk by
    itself (with crises only, the classifier learnt that it was: 2026-12-03, worried relatives'
    ordinary talk got the urgent routes).

    Returns the examples with their copies, and for each the index of the example it came from
    (so held-out folds keep an example and its copies together).
    """
    rng = random.Random(seed)
    out, source = list(examples), list(range(len(examples)))
    # The engine reads a message sentence by sentence too, so an ordinary message is taught
    # as ordinary sentence by sentence ("he's devastated." alone is no crisis either). Not a
    # crisis: one of its sentences alone may be innocent.
    for i, e in enumerate(examples):
        if e.label == "none":
            sentences = [p for p in _SENTENCES.split(e.text) if len(p.split()) >= 3]
            if len(sentences) > 1:
                out += [Example(p, "none") for p in sentences]
                source += [i] * len(sentences)
    for i, e in enumerate(list(examples)):
        out.append(Example(_typo(e.text, rng), e.label, e.urgent, e.other))
        source.append(i)
        out.append(Example(f"{rng.choice(REPORTERS)} {e.text}", e.label, e.urgent, True))
        source.append(i)
    return out, source


_SENTENCES = re.compile(r"(?<=[.!?;\n])\s+|\n+")  # as the engine splits a message (engine.py)
REPORTERS = ("my patient said", "pt reports", "my mentee told me", "my son keeps saying", "my friend texted me:",  # noqa: E501
             "a client said", "my sister says")  # fmt: skip


def _fit(x: sparse.csr_matrix, y: np.ndarray, outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features x outputs) and biases of a logistic regression, in the full hashed space.

    Fitted on the columns the examples use (a tenth of the hashed space: 15x faster),
    then put back where they belong; unseen features weigh nothing either way.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    weights = np.zeros((x.shape[1], outputs), dtype=np.float32)
    present = np.unique(y)
    if len(present) < 2:  # one class only (a tiny corpus): a constant answer
        bias = np.full(outputs, 10.0 if present[0] else -10.0, dtype=np.float32)
        return weights, bias
    columns = np.unique(x.indices)
    # liblinear: one-vs-rest by coordinate descent, 100x faster than lbfgs here; the
    # category head's per-class scores are made into probabilities by a softmax at use.
    model = LogisticRegression(C=16.0, class_weight="balanced", solver="liblinear")
    with threadpool_limits(1):  # no contention with Rasa for the cores
        model.fit(x[:, columns], y)
    if outputs == 1:
        weights[columns, 0] = model.coef_[0]
        return weights, model.intercept_.astype(np.float32)
    bias = np.full(outputs, -30.0, dtype=np.float32)  # a class with no examples is never chosen
    for row, label in enumerate(model.classes_):
        weights[columns, label] = model.coef_[row]
        bias[label] = model.intercept_[row]
    return weights, bias


def _choose_thresholds(risk: np.ndarray, is_risk: np.ndarray) -> Thresholds:
    """From held-out folds of the hard negatives: check where 1.5% of them reach it, urgent at 0.2%.

    Those are the false-alarm limits for the check question (2%) and the urgent reply
    (0.2%), less a margin for what the patterns add.
    """
    ordinary = np.sort(risk[~is_risk])
    check = float(ordinary[int(len(ordinary) * 0.985)])
    urgent = float(ordinary[int(len(ordinary) * 0.998)])
    return Thresholds(check=max(check, 0.3), urgent=max(urgent, check, 0.5))


def _urgent_level(risk: np.ndarray, urgency: np.ndarray, is_risk: np.ndarray, t: Thresholds) -> float:
    """The level head's certainty that makes a check-level message urgent: the lowest at which
    held-out ordinary messages getting an urgent reply stay at most 0.2% (with the risk threshold's)."""
    ordinary = ~is_risk
    already = (risk[ordinary] >= t.urgent) & (urgency[ordinary] >= 0.5)
    budget = int(ordinary.sum() * 0.002) - int(already.sum())
    candidates = np.sort(urgency[ordinary & (risk >= t.check)])[::-1]
    if budget < 0 or len(candidates) == 0:
        return 1.01
    return float(max(candidates[min(budget, len(candidates) - 1)] + 1e-6, 0.5))


def train(root: Path = PROJECT_ROOT, folds: int = 3) -> tuple[RiskClassifier, dict]:
    """Train the three heads on everything; thresholds from held-out folds of the same data."""
    from chatbot.safety.engine import load_normaliser

    normaliser = load_normaliser()
    base = read_examples(training_files(root), root / "data" / "nlu")
    examples, source = augmented(base)
    featuriser = Featuriser(normaliser.stems)
    x = featuriser.transform([normaliser.normalise(e.text) for e in examples])  # once, sliced per fold
    fold_of = np.array([hash_fold(i, folds) for i in range(len(base))])[source]
    held_out_risk = np.zeros(len(base))
    held_out_urgency = np.zeros(len(base))
    for fold in range(folds):
        rows = np.flatnonzero(fold_of != fold)
        weights, bias = _fit_all(x[rows], [examples[i] for i in rows])
        model = RiskClassifier(weights, bias, Thresholds(0.5, 0.9), featuriser)
        test = np.flatnonzero(fold_of[: len(base)] == fold)
        scores = model._scores_of(x[test])
        held_out_risk[test], held_out_urgency[test] = scores.risk, scores.urgent
    is_risk = np.array([e.label != "none" for e in base])
    thresholds = _choose_thresholds(held_out_risk, is_risk)
    thresholds = Thresholds(
        thresholds.check,
        thresholds.urgent,
        _urgent_level(held_out_risk, held_out_urgency, is_risk, thresholds),
    )
    weights, bias = _fit_all(x, examples)
    report = {
        "examples": len(base),
        "crisis": int(is_risk.sum()),
        "held_out_recall_at_check": round(float((held_out_risk[is_risk] >= thresholds.check).mean()), 4),
        "held_out_false_alarms_at_check": round(
            float((held_out_risk[~is_risk] >= thresholds.check).mean()), 4
        ),
        "thresholds": thresholds,
        "held_out_recall_at_urgent": round(float((held_out_risk[is_risk] >= thresholds.urgent).mean()), 4),
        "urgent_level": round(thresholds.urgent_level, 3),
    }
    return RiskClassifier(weights, bias, thresholds, featuriser), report


def hash_fold(index: int, folds: int) -> int:
    return (index * 2654435761) % 2**32 % folds  # a fixed spread, the same on every machine


def _fit_all(x: sparse.csr_matrix, examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([CLASSES.index(e.label) for e in examples])
    risk_w, risk_b = _fit(x, (y > 0).astype(int), 1)  # any risk at all, against this domain's ordinary talk
    risky = np.flatnonzero(y > 0)
    kind_w, kind_b = _fit(x[risky], y[risky] - 1, len(CLASSES) - 1)  # which kind, among risky messages
    level_w, level_b = _fit(x[risky], np.array([examples[i].urgent for i in risky], dtype=int), 1)
    about_w, about_b = _fit(x[risky], np.array([examples[i].other for i in risky], dtype=int), 1)
    weights = np.hstack([risk_w, kind_w, level_w, about_w])
    return weights, np.concatenate([risk_b, kind_b, level_b, about_b])


def save(model: RiskClassifier, digest: str, path: Path = MODEL_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(handle)
    np.savez_compressed(
        temporary, weights=model._weights, bias=model._bias, digest=np.array(digest),
        thresholds=np.array([model.thresholds.check, model.thresholds.urgent, model.thresholds.urgent_level]),
    )  # fmt: skip
    os.replace(temporary, path)  # another process may be loading it: never a half-written file


def _load(path: Path, featuriser: Featuriser) -> tuple[RiskClassifier, str]:
    with np.load(path, allow_pickle=False) as stored:
        model = RiskClassifier(
            stored["weights"],
            stored["bias"],
            Thresholds(*(float(v) for v in stored["thresholds"])),
            featuriser,
        )
        return model, str(stored["digest"])


@lru_cache(maxsize=1)
def load_classifier(path: Path = MODEL_PATH) -> RiskClassifier:
    """The stored classifier, retrained first if what it was trained on has changed."""
    from chatbot.safety.engine import load_normaliser

    featuriser = Featuriser(load_normaliser().stems)
    want = corpus_digest(training_files(), PROJECT_ROOT / "data" / "nlu")
    if path.exists():
        model, digest = _load(path, featuriser)
        if digest == want:
            return model
    model, _ = train()
    save(model, want, path)
    return model
