#!/usr/bin/env python3
"""Classifier quality, speed and training time on the shared corpora, beside plain baselines.

Runs `manage.py classifier_eval` (the project's pipeline with its per-team model search: train
on train.csv, evaluate once on test.csv, one-ticket latency through the ingest code path) and,
in the same run, the baselines the corpus README lists, on the same rows. Prints one JSON
object (one per line with --curve), each with the load average before and after.

    .venv/bin/python bench/classifier.py                       # IT corpus (30,615 -> 7,654)
    .venv/bin/python bench/classifier.py --corpus customer-support-queues   # 13,070 -> 3,268
    .venv/bin/python bench/classifier.py --curve               # 250, 500, 1k, 2k, 5k, all
    .venv/bin/python bench/classifier.py --many-classes        # IT texts in 100 k-means groups
    .venv/bin/python bench/classifier.py --quick               # first 5,000 / 1,500 (CI smoke)

Corpora are read from ../shared/data/<corpus>/ relative to the repository root (--data-root
to point elsewhere). --objective and --budget are passed to classifier_eval."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT.parent / "shared" / "data"
QUICK_TRAIN, QUICK_TEST = 5000, 1500
CURVE = (250, 500, 1000, 2000, 5000, None)  # None: all labels
CORPORA: dict[str, dict[str, Any]] = {
    "it-service-tickets": {"text": ["text"], "label": "label"},
    "customer-support-queues": {"text": ["subject", "body"], "label": "queue"},
}
# Issue 13: no drop on the IT corpus; on the second corpus, beat both README baselines.
IT_TARGETS = {"macro_f1": 0.869, "precision": 0.95, "coverage": 0.77, "predict_ms_p99": 2.0}
BASELINES = {
    "TfidfVectorizer() + LogisticRegression(max_iter=1000)": "lr",
    "TfidfVectorizer(ngram_range=(1,2), sublinear_tf=True, min_df=2) + LinearSVC()": "svc",
}


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def read(path: Path, spec: dict[str, Any], limit: int | None) -> tuple[list[str], list[str]]:
    """Texts (text columns joined by a space, as the READMEs' baselines do) and labels."""
    texts, labels = [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = " ".join(row[c].strip() for c in spec["text"]).strip()
            label = " ".join(row[spec["label"]].split())
            if text and label:
                texts.append(text)
                labels.append(label)
            if limit and len(texts) >= limit:
                break
    return texts, labels


def project(
    train: Path, test: Path, spec: dict[str, Any], limits: tuple[int | None, int | None],
    extra: list[str],
) -> dict[str, Any]:
    cmd = [
        sys.executable, "manage.py", "classifier_eval", "--train", str(train), "--test",
        str(test), "--text-columns", ",".join(spec["text"]), "--label-column", spec["label"],
        *extra,
    ]
    if limits[0]:
        cmd += ["--limit", str(limits[0])]
    if limits[1]:
        cmd += ["--test-limit", str(limits[1])]
    env = dict(os.environ)
    # The command touches no database and serves nothing; settings only need a key to load.
    env.setdefault("DJANGO_SECRET_KEY", "bench-classifier-not-secret")
    before = load()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"classifier_eval failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "load_before": before, "load_after": load()}


def baselines(
    train: Path, test: Path, spec: dict[str, Any], limits: tuple[int | None, int | None]
) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    train_x, train_y = read(train, spec, limits[0])
    test_x, test_y = read(test, spec, limits[1])
    models = {
        "lr": make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
        "svc": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), LinearSVC()
        ),
    }
    out = {}
    for name, key in BASELINES.items():
        started = time.perf_counter()
        models[key].fit(train_x, train_y)
        seconds = time.perf_counter() - started
        predicted = models[key].predict(test_x)
        out[key] = {
            "model": name,
            "accuracy": round(float(accuracy_score(test_y, predicted)), 4),
            "macro_f1": round(float(f1_score(test_y, predicted, average="macro")), 4),
            "train_seconds": round(seconds, 2),
        }
    return out


def many_classes(data: Path, workdir: Path, n_classes: int = 100) -> tuple[Path, Path]:
    """The IT corpus relabelled into n_classes k-means groups of its TF-IDF (deterministic;
    imbalanced, as k-means groups are): a corpus with many labels, to time training."""
    import numpy as np
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    spec = CORPORA["it-service-tickets"]
    train_x, _ = read(data / "train.csv", spec, None)
    test_x, _ = read(data / "test.csv", spec, None)
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(train_x)
    svd = TruncatedSVD(100, random_state=0).fit(vec.transform(train_x))
    kmeans = MiniBatchKMeans(n_classes, random_state=0, n_init=3)
    kmeans.fit(svd.transform(vec.transform(train_x)))
    paths = []
    for name, texts in (("train.csv", train_x), ("test.csv", test_x)):
        groups = kmeans.predict(svd.transform(vec.transform(texts)))
        path = workdir / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows((t, f"group-{g:03d}") for t, g in zip(texts, groups, strict=True))
        paths.append(path)
    sizes = np.bincount(kmeans.labels_, minlength=n_classes)
    print(f"[bench] {n_classes} groups, sizes {sizes.min()}..{sizes.max()}", file=sys.stderr)
    return paths[0], paths[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="it-service-tickets")
    parser.add_argument("--quick", action="store_true", help="a subsample, for CI")
    parser.add_argument("--curve", action="store_true", help="learning curve (no baselines)")
    parser.add_argument("--many-classes", action="store_true", help="100 groups, timing")
    parser.add_argument("--objective", choices=["macro_f1", "accuracy"], default=None)
    parser.add_argument("--budget", type=float, default=None, help="training budget, seconds")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    args = parser.parse_args()
    data = args.data_root / args.corpus
    spec = CORPORA[args.corpus]
    train, test = data / "train.csv", data / "test.csv"
    if not train.exists() or not test.exists():
        print(json.dumps({"error": f"corpus not found in {data}"}))
        return 1
    extra = [*(["--objective", args.objective] if args.objective else []),
             *(["--budget", str(args.budget)] if args.budget else [])]

    if args.curve:
        sizes = (250, 500) if args.quick else CURVE
        for size in sizes:
            ours = project(train, test, spec, (size, QUICK_TEST if args.quick else None), extra)
            keys = ("n_train", "macro_f1", "accuracy", "precision", "coverage", "auto_route",
                    "train_seconds", "load_before", "load_after")
            print(json.dumps({"corpus": args.corpus, "labels_used": size or "all",
                              **{k: ours.get(k) for k in keys},
                              "chosen": ours["selection"]["chosen"]}), flush=True)
        return 0

    if args.many_classes:
        with tempfile.TemporaryDirectory() as tmp:
            train, test = many_classes(data, Path(tmp))
            ours = project(train, test, spec, (None, None), extra)
        print(json.dumps({"corpus": "it-service-tickets relabelled: 100 k-means groups",
                          "classifier": ours}))
        return 0

    # Both sides read the first N usable rows of each file: the same rows.
    limits = (QUICK_TRAIN, QUICK_TEST) if args.quick else (None, None)
    ours = project(train, test, spec, limits, extra)
    base = baselines(train, test, spec, limits)
    report: dict[str, Any] = {
        "corpus": args.corpus, "quick": args.quick, "classifier": ours, "baselines": base,
    }
    if args.corpus == "it-service-tickets":
        report["targets"] = IT_TARGETS
        report["targets_met"] = {
            k: ours[k] <= v if k == "predict_ms_p99" else ours[k] >= v
            for k, v in IT_TARGETS.items()
        }
    else:
        report["beats_both_baselines"] = {
            k: all(ours[k] > b[k] for b in base.values()) for k in ("macro_f1", "accuracy")
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
