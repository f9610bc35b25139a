"""The linear model's parts: TF-IDF feature blocks as plain data (with the fast single-text path
used by predict_one) and the class-balanced linear SVM, fitted out-of-fold.

A Block is one fitted TfidfVectorizer reduced to its settings, terms (column order), idf and,
for an LSA block, its projection, so it serialises without pickle. `counts` reproduces sklearn's
term counting exactly but faster: char_wb n-grams never cross a word boundary, so a text's char
n-gram counts are the sum of its words' n-gram counts. Each distinct word's known-term column ids
are computed once and kept in a bounded LRU cache; ticket vocabularies repeat heavily, so a warm
process mostly does dictionary look-ups instead of generating n-grams per character in Python.

Out-of-fold: K SVMs, each scoring the fold it did not see. Their held-out scores calibrate the
confidence (classifier.confidence) and their average is the shipped model (pipeline.train says
why the average rather than a refit).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

OOF_FOLDS = 5
# Rows x classes above which the final training uses 3 folds instead of 5: one-vs-rest costs one
# binary SVM per class, so 100 classes cost ~6x 8 classes (3 folds of 2/3 cost half of 5 of 4/5).
# 40k tickets in 8 categories stay at 5 folds; 30k in 100 take 3.
MANY_FOLDS_MAX_WORK = 400_000


def heavy(n_rows: int, n_classes: int) -> bool:
    """Whether training is costly enough (rows x classes) for the cheaper settings: 3 final
    folds, and a model search that starts without the LSA block."""
    return n_rows * n_classes > MANY_FOLDS_MAX_WORK


def final_folds(n_rows: int, n_classes: int) -> int:
    return 3 if heavy(n_rows, n_classes) else OOF_FOLDS
UNSEEN_SCORE = -10.0  # out-of-fold score of a class its fold's SVM never saw (far below any real)
# liblinear's stopping tolerance. sklearn's default 1e-4 is 1000x liblinear's own (0.1); 1e-2
# gave identical held-out predictions on both shared corpora at 15-50 % less fit time (more at
# high C; EXPERIMENTS.md round 4).
SVM_TOL = 1e-2
Svm = tuple[np.ndarray, np.ndarray, np.ndarray]  # classes, coef, intercept
WORD_CACHE_SIZE = 50_000  # distinct words per char block; ~470 bytes each (measured): < 25 MB
PAIR_WORDS = 25  # word pairs come from a text's first 25 words (CV: 25 = 40 = 80 words, cheapest)
_words = re.compile(r"(?u)\b\w\w+\b").findall  # sklearn's default word token pattern


def word_pairs(text: str) -> list[str]:
    """Every unordered pair of distinct words among the text's first PAIR_WORDS words: which
    words occur together, wherever they stand (an interaction a linear model cannot form from
    single words; worth +0.005 macro-F1 in CV on top of word 1-2 grams)."""
    words = sorted(set(_words(text.lower())[:PAIR_WORDS]))
    return [f"{a}&{b}" for i, a in enumerate(words) for b in words[i + 1 :]]


CALLABLE_ANALYZERS: dict[str, Callable[[str], list[str]]] = {"word_pairs": word_pairs}


@dataclass
class Block:
    """One fitted TF-IDF vectorizer as plain data: settings, terms (column order) and idf.

    With `components` (terms x k) the block's features are not its TF-IDF columns but their
    projection on k latent directions (LSA), L2-normalised: k dense features in which related
    words land close together, so a ticket phrased with rarer words still scores."""

    analyzer: str
    ngram_range: tuple[int, int]
    max_chars: int
    terms: list[str]
    idf: np.ndarray
    components: np.ndarray | None = None
    vocabulary: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.vocabulary = {term: i for i, term in enumerate(self.terms)}
        # sklearn's own analyzer (a pure function of the settings), so tokens match exactly.
        self.analyze = self.vectorizer().build_analyzer()
        self._word_ids: Callable[[str], np.ndarray] = lru_cache(maxsize=WORD_CACHE_SIZE)(
            self._ids_of_word
        )

    @property
    def width(self) -> int:
        """Number of feature columns this block contributes."""
        return len(self.terms) if self.components is None else self.components.shape[1]

    def vectorizer(self, **fit_params: object) -> TfidfVectorizer:
        if self.analyzer in CALLABLE_ANALYZERS:  # a callable analyzer takes no ngram_range
            return TfidfVectorizer(
                analyzer=CALLABLE_ANALYZERS[self.analyzer], sublinear_tf=True, **fit_params
            )
        return TfidfVectorizer(
            analyzer=self.analyzer, ngram_range=self.ngram_range, sublinear_tf=True, **fit_params
        )

    def project(self, tfidf: sp.csr_matrix) -> sp.csr_matrix:
        """The block's feature rows from its TF-IDF rows (identity without components)."""
        if self.components is None:
            return tfidf
        return sp.csr_matrix(normalize(np.asarray(tfidf @ self.components)))

    def vector_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one text's features, the fast equivalent of
        project(sklearn_vectorizer().transform([text])): count known terms, 1 + log(tf), times
        idf, L2-normalise, then project and normalise again if the block has components."""
        idx, tf = self.counts(text)
        if not len(idx):
            return _EMPTY_IDS, _EMPTY_COUNTS
        weights = (np.log(tf) + 1.0) * self.idf[idx]
        weights /= np.sqrt(weights @ weights)
        if self.components is None:
            return idx, weights
        z = weights @ self.components[idx]
        norm = np.sqrt(z @ z)
        if norm == 0.0:
            return _EMPTY_IDS, _EMPTY_COUNTS
        return np.arange(len(z)), z / norm

    def sklearn_vectorizer(self) -> TfidfVectorizer:
        """A fitted TfidfVectorizer rebuilt from the stored vocabulary and idf (batch path)."""
        vec = self.vectorizer(vocabulary=self.vocabulary)
        vec.idf_ = self.idf  # the setter validates the vocabulary and builds the transformer
        return vec

    def counts(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column ids, raw counts) of the known terms in text's head, like CountVectorizer."""
        text = text[: self.max_chars]
        if self.analyzer == "char_wb":
            # sklearn: lowercase, collapse whitespace, str.split(), pad each word with spaces.
            words = Counter(text.lower().split())
            if not words:
                return _EMPTY_IDS, _EMPTY_COUNTS
            ids = [self._word_ids(w) for w in words]
            all_ids = np.concatenate(ids)
            if not len(all_ids):
                return _EMPTY_IDS, _EMPTY_COUNTS
            weights = np.repeat(
                np.fromiter(words.values(), dtype=np.float64, count=len(words)),
                [len(a) for a in ids],
            )
            cols, inverse = np.unique(all_ids, return_inverse=True)
            return cols, np.bincount(inverse, weights=weights)
        vocab = self.vocabulary
        # Count every token first (C speed), then look up only the distinct ones.
        hits = [(vocab[t], n) for t, n in Counter(self.analyze(text)).items() if t in vocab]
        cols = np.fromiter((j for j, _ in hits), dtype=np.intp, count=len(hits))
        return cols, np.fromiter((n for _, n in hits), dtype=np.float64, count=len(hits))

    def _ids_of_word(self, word: str) -> np.ndarray:
        vocab = self.vocabulary
        grams = _char_wb_ngrams(word, *self.ngram_range)
        ids = np.fromiter((vocab[g] for g in grams if g in vocab), dtype=np.intp)
        ids.flags.writeable = False  # shared by every caller (and thread) through the cache
        return ids


_EMPTY_IDS = np.zeros(0, dtype=np.intp)
_EMPTY_COUNTS = np.zeros(0, dtype=np.float64)


def _char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """sklearn's char_wb n-grams of one (already lowercased) word, in the same quirky way: a
    padded word shorter than n yields itself once and stops the larger n."""
    w = f" {word} "
    grams = []
    for n in range(min_n, max_n + 1):
        if len(w) <= n:
            grams.append(w)
            break
        grams.extend(w[i : i + n] for i in range(len(w) - n + 1))
    return grams


def fit_blocks(
    texts: list[str], features: tuple[dict, ...]
) -> tuple[list[str], list[Block], sp.csr_matrix]:
    """Fit one TF-IDF block per feature spec (name, analyzer, ngram_range, max_chars, min_df,
    max_features, and `components` for an LSA projection); returns the names of the blocks that
    could be fitted, the blocks and the stacked matrix."""
    names: list[str] = []
    blocks, parts = [], []
    for spec in features:
        head = [t[: spec["max_chars"]] for t in texts]
        probe = Block(spec["analyzer"], spec["ngram_range"], spec["max_chars"], [], np.zeros(0))
        # min_df drops one-off tokens (typos, ids); a tiny corpus may have no term seen twice.
        min_df = spec["min_df"] if len(texts) >= 10 * spec["min_df"] else 1
        vec = probe.vectorizer(min_df=min_df, max_features=spec["max_features"], dtype=np.float64)
        try:
            tfidf = vec.fit_transform(head)
        except ValueError:  # no terms at all in this block (e.g. only 1-letter words)
            continue
        terms = vec.get_feature_names_out().tolist()
        components = None
        if "components" in spec:
            # TruncatedSVD needs k < number of terms; a tiny corpus gets a smaller projection.
            k = min(spec["components"], tfidf.shape[0] - 1, len(terms) - 1)
            if k < 2:
                continue
            svd = TruncatedSVD(k, random_state=0).fit(tfidf)
            components = np.ascontiguousarray(svd.components_.T, dtype=np.float32)
        block = Block(
            probe.analyzer, probe.ngram_range, probe.max_chars, terms, vec.idf_, components
        )
        names.append(spec["name"])
        blocks.append(block)
        parts.append(block.project(tfidf))
    if not blocks:
        raise ValueError("the training texts contain no usable terms")
    return names, blocks, sp.hstack(parts, format="csr")


@dataclass(frozen=True)
class SvmSettings:
    """What the model search chooses besides the feature blocks (see classifier.search)."""

    C: float = 0.25
    balanced: bool = True  # class_weight="balanced": rare classes weigh as much as common ones


def fit_svm(x: sp.csr_matrix, y: np.ndarray, settings: SvmSettings) -> Svm:
    svm = LinearSVC(
        C=settings.C,
        class_weight="balanced" if settings.balanced else None,
        tol=SVM_TOL,
        random_state=0,
    ).fit(x, y)
    coef, intercept = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:  # binary SVM has one score d for classes_[1]: use (-d, d)
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    return svm.classes_, coef, intercept


def stratified_folds(truth: np.ndarray, n_classes: int, k: int, seed: int) -> np.ndarray:
    """A fold number per row, each class spread evenly over the k folds; a random start per
    class spreads classes with fewer than k examples over different folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(truth), dtype=int)
    for c in range(n_classes):
        idx = rng.permutation(np.flatnonzero(truth == c))
        fold[idx] = (np.arange(len(idx)) + rng.integers(k)) % k
    return fold


def oof_scores(
    x: sp.csr_matrix,
    truth: np.ndarray,
    n_classes: int,
    seed: int,
    settings: SvmSettings,
    folds: int = OOF_FOLDS,
) -> tuple[np.ndarray, np.ndarray, list[Svm]]:
    """SVM scores of every row from an SVM fitted on the other folds, whether that SVM knew the
    row's class (a class with fewer examples than folds is missing from some folds), and the
    fold SVMs. The fold SVMs are fitted one after the other: liblinear's random generator is
    process-wide, so SVMs fitted in parallel threads come out different on every run."""
    fold = stratified_folds(truth, n_classes, folds, seed)
    scores = np.full((len(truth), n_classes), UNSEEN_SCORE)
    seen = np.ones(len(truth), dtype=bool)
    jobs = []
    for f in range(folds):
        tr, va = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        present = np.unique(truth[tr])
        seen[va] = np.isin(truth[va], present)
        if len(va) == 0 or len(present) < 2:
            scores[np.ix_(va, present)] = 0.0
            continue
        jobs.append((tr, va))
    fitted = [fit_svm(x[tr], truth[tr], settings) for tr, _ in jobs]
    for (_, va), (classes, coef, intercept) in zip(jobs, fitted, strict=True):
        scores[np.ix_(va, classes)] = x[va] @ coef.T + intercept
    return scores, seen, fitted


def average(models: list[Svm], n_classes: int) -> Svm | None:
    """The fold SVMs averaged per class (a class is missing from folds that held out all its
    examples); None when some class is in no fold model (tiny data: refit instead)."""
    coef_sum: float | np.ndarray = 0.0  # an array once the first model's width is known
    intercept_sum, n = np.zeros(n_classes), np.zeros(n_classes)
    for classes, coef, intercept in models:
        full = np.zeros((n_classes, coef.shape[1]))
        full[classes] = coef
        coef_sum = coef_sum + full
        intercept_sum[classes] += intercept
        n[classes] += 1
    if not models or not n.all():
        return None
    return np.arange(n_classes), coef_sum / n[:, None], intercept_sum / n
