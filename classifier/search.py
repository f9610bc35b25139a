"""Model selection on the team's own data: which settings of the TF-IDF + linear SVM family fit
this team's tickets, chosen by stratified cross-validation on the training part only.

What is searched (a staged coordinate search, not a grid: each stage starts from the best so
far; the first candidate is the default that won on the shared IT corpus):
1. C (regularisation): 0.25, then 1.0; then 3.0 if 1.0 won, else 0.1.
2. class weighting: "balanced" (rare classes weigh as much as common ones) on or off.
3. feature blocks: all of them, or all but one of word pairs / LSA / char n-grams (words stay).

Each candidate is scored by SEARCH_FOLDS-fold stratified CV on at most SEARCH_ROWS rows of the
training part (a stratified subsample on bigger data), with the configured objective: macro-F1
(every category counts the same) or accuracy (every ticket counts the same). A candidate
replaces the best so far only if it beats it by more than MIN_GAIN, so the search does not swap
settings on noise. The feature blocks are fitted once beforehand (no labels involved): a
candidate uses a subset of their columns, so it costs its SVM fits only.

Budget: before each candidate the search checks that the candidates so far, one more, and the
final training (estimated from the measured fits) still fit in the budget; if not it stops and
says so. If even the final training with the default would not fit (many classes, long texts),
the search takes the default without its costliest block (LSA), then also without word pairs,
for the budget.
The result records every candidate's CV macro-F1, accuracy and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, f1_score

from classifier import linear
from classifier.linear import SvmSettings, oof_scores

OBJECTIVES = ("macro_f1", "accuracy")
SEARCH_FOLDS = 3
SEARCH_ROWS = 6_000  # CV rows at most; measured cost per candidate in EXPERIMENTS.md (round 4)
MIN_GAIN = 0.002  # about one standard error of a 3-fold CV macro-F1 on 6k rows
OPTIONAL_BLOCKS = ("pairs", "lsa", "chars")  # "words" is always in
# The final training took 1.4x what the search's fits projected (IT corpus, 30k rows: projected
# 66 s, fits + calibration 92 s at load 7), so the projection is scaled by 1.5.
FINAL_COST_FACTOR = 1.5


@dataclass(frozen=True)
class Candidate:
    svm: SvmSettings
    blocks: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.svm), "blocks": list(self.blocks)}


@dataclass
class Selection:
    best: Candidate
    objective: str
    cv_rows: int
    cv_folds: int
    tried: list[dict[str, Any]] = field(default_factory=list)  # in order, with CV scores
    stopped_by_budget: bool = False
    chosen_for_budget: bool = False  # the cheaper candidate, because the default would not fit
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        best = next(t for t in self.tried if t["chosen"]) if self.tried else {}
        return {
            "chosen": self.best.describe(),
            "objective": self.objective,
            "cv_macro_f1": best.get("macro_f1"),
            "cv_accuracy": best.get("accuracy"),
            "cv_rows": self.cv_rows,
            "cv_folds": self.cv_folds,
            "candidates": self.tried,
            "stopped_by_budget": self.stopped_by_budget,
            "chosen_for_budget": self.chosen_for_budget,
            "search_seconds": round(self.seconds, 2),
        }


def default_candidate(available: Sequence[str]) -> Candidate:
    return Candidate(SvmSettings(C=0.25, balanced=True), tuple(available))


def select(
    x: sp.csr_matrix,
    block_names: Sequence[str],
    block_widths: Sequence[int],
    truth: np.ndarray,
    rows: np.ndarray,
    n_classes: int,
    *,
    objective: str = "macro_f1",
    budget_seconds: float = float("inf"),
    seed: int = 0,
) -> Selection:
    """Choose a Candidate by CV over `rows` (indices into x / truth: the training part)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
    started = time.perf_counter()
    cv_rows = _subsample(rows, truth, SEARCH_ROWS, seed)
    offsets = np.cumsum([0, *block_widths])
    columns = {n: np.arange(offsets[i], offsets[i + 1]) for i, n in enumerate(block_names)}
    y = truth[cv_rows]
    selection = Selection(default_candidate(block_names), objective, len(cv_rows), SEARCH_FOLDS)
    if np.bincount(y).max(initial=0) < SEARCH_FOLDS or len(set(y.tolist())) < 2:
        selection.tried.append({**selection.best.describe(), "chosen": True, "note": "too few"})
        return selection  # too little data to cross-validate: keep the default
    # Fits cost about rows x folds: the final training is k fits on (k-1)/k of all rows. Bigger
    # fits take more iterations and the calibration comes on top: FINAL_COST_FACTOR.
    k = linear.final_folds(len(truth), n_classes)
    final_scale = FINAL_COST_FACTOR * (k - 1) * len(truth) / ((SEARCH_FOLDS - 1) * len(cv_rows))
    x_cv = x[cv_rows]
    scored: dict[Candidate, dict[str, Any]] = {}
    worst_seconds = 0.0

    def final_fits(candidate: Candidate) -> bool:
        """Whether the final training with this (scored) candidate still fits the budget."""
        spent = time.perf_counter() - started
        return spent + scored[candidate]["seconds"] * final_scale <= budget_seconds

    def score(candidate: Candidate, force: bool = False) -> float | None:
        nonlocal worst_seconds
        if candidate in scored:
            return scored[candidate][objective]
        spent = time.perf_counter() - started
        best_seconds = scored[selection.best]["seconds"] if selection.best in scored else 0.0
        over = spent + worst_seconds + best_seconds * final_scale > budget_seconds
        if scored and over and not force:
            selection.stopped_by_budget = True
            return None
        t0 = time.perf_counter()
        cols = np.concatenate([columns[b] for b in candidate.blocks])
        scores, _, _ = oof_scores(
            x_cv[:, cols], y, n_classes, seed, candidate.svm, folds=SEARCH_FOLDS
        )
        pred = scores.argmax(axis=1)
        seconds = time.perf_counter() - t0
        worst_seconds = max(worst_seconds, seconds)
        scored[candidate] = {
            **candidate.describe(),
            "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
            "accuracy": round(float(accuracy_score(y, pred)), 4),
            "seconds": round(seconds, 2),
        }
        return scored[candidate][objective]

    def consider(candidate: Candidate) -> bool:
        """Score a candidate; it becomes the best if it beats the best by more than MIN_GAIN."""
        value = score(candidate)
        best = score(selection.best) if selection.best in scored else None
        if value is None or best is None:
            return False
        if value > best + MIN_GAIN:
            selection.best = candidate
            return True
        return False

    # Cheaper and cheaper defaults, for when even the final training would overrun the budget
    # (many classes, long texts): the LSA block (300 dense columns per ticket) costs the most
    # per ticket, then the word pairs (up to 300 per ticket). Each is taken for the budget,
    # whatever its CV score. (Heavy data comes without LSA: see pipeline.train.)
    ladder = [selection.best]
    for block in ("lsa", "pairs"):
        kept = tuple(b for b in ladder[-1].blocks if b != block)
        if kept != ladder[-1].blocks:
            ladder.append(replace(ladder[-1], blocks=kept))
    for step, candidate in enumerate(ladder):
        score(candidate, force=True)
        if step:
            selection.chosen_for_budget = True
        selection.best = candidate
        if final_fits(candidate):
            _stages(selection, consider, score, block_names)
            break
    else:
        selection.stopped_by_budget = True
    selection.tried = [
        {**row, "chosen": cand == selection.best} for cand, row in scored.items()
    ]
    selection.seconds = time.perf_counter() - started
    return selection


def _stages(
    selection: Selection,
    consider: Callable[[Candidate], bool],
    score: Callable[[Candidate], float | None],
    block_names: Sequence[str],
) -> None:
    start = selection.best
    if score(start) is None:
        return
    # 1. C: one step up; then further up if that won, else one step down.
    if consider(replace(start, svm=replace(start.svm, C=1.0))):
        consider(replace(start, svm=replace(start.svm, C=3.0)))
    else:
        consider(replace(start, svm=replace(start.svm, C=0.1)))
    # 2. class weighting off (or on).
    best = selection.best
    consider(replace(best, svm=replace(best.svm, balanced=not best.svm.balanced)))
    # 3. all blocks but one (each optional block that this corpus produced).
    best = selection.best
    for name in OPTIONAL_BLOCKS:
        if name in best.blocks:
            consider(replace(best, blocks=tuple(b for b in best.blocks if b != name)))
        if selection.stopped_by_budget:
            return


def _subsample(rows: np.ndarray, truth: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """At most `limit` of `rows`, each class keeping its share (and at least SEARCH_FOLDS rows
    when it has them, so it can appear in every fold)."""
    if len(rows) <= limit:
        return np.sort(rows)
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    share = limit / len(rows)
    for c in np.unique(truth[rows]):
        idx = rows[truth[rows] == c]
        n = min(len(idx), max(SEARCH_FOLDS, round(len(idx) * share)))
        keep.append(rng.choice(idx, size=n, replace=False))
    return np.sort(np.concatenate(keep))
