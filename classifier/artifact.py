"""Safe serialization of a TextClassifier: one .npz (numpy arrays, allow_pickle=False) holding
the float arrays plus a JSON document (labels, temperature, confidence-model bias, per-block
analyzer settings and terms). Version 2 added the confidence model (weights array + bias);
version 3 the word-pairs analyzer and LSA components (a terms x k array per projected block), so
a version-2 artifact is still a valid version-3 one without them; version 4 records the
scikit-learn version it was trained with and that its text is Unicode-normalised (versions 2-3
read raw text and are still loaded as such). A version-1 artifact is refused rather than guessed
at (retrain), and so is one trained with another scikit-learn minor series than this process
runs: its tokenizers (sklearn's analyzers) are only known to match within one. Loading never
executes code from the data: JSON and plain numeric arrays only, and every field is checked, so
garbage raises ValueError instead of producing a half-working model."""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import sklearn

from classifier.confidence import ConfidenceModel, n_meta_features

if TYPE_CHECKING:
    from classifier.linear import Block
    from classifier.pipeline import TextClassifier

FORMAT = "switchboard-text-classifier"
VERSION = 4
READABLE_VERSIONS = frozenset({2, 3, 4})
ANALYZERS = frozenset({"word", "char", "char_wb", "word_pairs"})
MAX_COMPONENTS = 1_000


def dump(model: TextClassifier) -> bytes:
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "sklearn": sklearn.__version__,
        "normalized": model.normalized,
        "labels": model.labels,
        "temperature": model.temperature,
        "confidence_bias": None if model.confidence is None else model.confidence.bias,
        "blocks": [
            {
                "analyzer": b.analyzer,
                "ngram_range": list(b.ngram_range),
                "max_chars": b.max_chars,
                "terms": b.terms,
                "components": None if b.components is None else b.components.shape[1],
            }
            for b in model.blocks
        ],
    }
    arrays = {f"idf_{i}": b.idf.astype(np.float64) for i, b in enumerate(model.blocks)}
    for i, b in enumerate(model.blocks):
        if b.components is not None:
            arrays[f"components_{i}"] = b.components.astype(np.float32)
    if model.confidence is not None:
        arrays["confidence_weights"] = model.confidence.weights.astype(np.float64)
    buf = io.BytesIO()
    # numpy's stub lets **arrays reach savez_compressed's allow_pickle: bool; the keys are
    # only array names (idf_*, components_*, confidence_weights).
    np.savez_compressed(
        buf,
        meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
        coef=model.coef,
        intercept=model.intercept,
        **arrays,  # type: ignore[arg-type]
    )
    return buf.getvalue()


def load(cls: type[TextClassifier], block_cls: type[Block], data: bytes) -> TextClassifier:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError("model artifact must be bytes")
    try:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(_array(arrays, "meta", np.uint8, 1).tobytes().decode("utf-8"))
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"not a model artifact: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("not a model artifact: unknown format")
    if meta.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"unsupported model artifact version {meta.get('version')!r}")
    normalized = False
    if meta["version"] >= 4:
        check_sklearn(meta.get("sklearn"))
        if not isinstance(meta.get("normalized"), bool):
            raise ValueError("model artifact: normalized must be true or false")
        normalized = meta["normalized"]

    labels = meta.get("labels")
    if not _str_list(labels) or len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError("model artifact: labels must be >= 2 distinct strings")
    temperature = meta.get("temperature")
    if (
        not isinstance(temperature, int | float)
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError("model artifact: temperature must be a positive number")
    raw_blocks = meta.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise ValueError("model artifact: no feature blocks")
    blocks = [_block(block_cls, raw, arrays, i) for i, raw in enumerate(raw_blocks)]

    n_features = sum(b.width for b in blocks)
    coef = _array(arrays, "coef", np.floating, 2)
    intercept = _array(arrays, "intercept", np.floating, 1)
    if coef.shape != (len(labels), n_features) or intercept.shape != (len(labels),):
        raise ValueError("model artifact: coef/intercept shapes do not match labels and terms")
    return cls(
        labels=labels,
        blocks=blocks,
        coef=coef,
        intercept=intercept,
        temperature=float(temperature),
        confidence=_confidence(meta.get("confidence_bias"), arrays, len(labels)),
        normalized=normalized,
    )


def _series(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def check_sklearn(trained_with: Any) -> None:
    """Refuse an artifact from another scikit-learn minor series than the one running (the
    project pins one tested series in pyproject.toml, so both sides of a deploy agree)."""
    running = sklearn.__version__
    if not isinstance(trained_with, str) or _series(trained_with) is None:
        raise ValueError("model artifact: no scikit-learn version recorded")
    if _series(trained_with) != _series(running):
        raise ValueError(
            f"model artifact was trained with scikit-learn {trained_with}, but this process runs "
            f"{running}: its text features may differ; retrain it (manage.py train_classifier)"
        )


def _confidence(bias: Any, arrays: dict[str, np.ndarray], n_labels: int) -> ConfidenceModel | None:
    if bias is None:
        if "confidence_weights" in arrays:
            raise ValueError("model artifact: confidence weights without a bias")
        return None
    if isinstance(bias, bool) or not isinstance(bias, int | float) or not math.isfinite(bias):
        raise ValueError("model artifact: confidence_bias must be a finite number")
    weights = _array(arrays, "confidence_weights", np.floating, 1)
    if weights.shape != (n_meta_features(n_labels),):
        raise ValueError("model artifact: confidence weights do not match the labels")
    return ConfidenceModel(weights.astype(np.float64), float(bias))


def _block(block_cls: type[Block], raw: Any, arrays: dict[str, np.ndarray], i: int) -> Block:
    if not isinstance(raw, dict):
        raise ValueError("model artifact: bad feature block")
    analyzer, ngrams, max_chars, terms = (
        raw.get("analyzer"),
        raw.get("ngram_range"),
        raw.get("max_chars"),
        raw.get("terms"),
    )
    if analyzer not in ANALYZERS:
        raise ValueError(f"model artifact: unknown analyzer {analyzer!r}")
    if not (
        isinstance(ngrams, list)
        and len(ngrams) == 2
        and all(type(n) is int for n in ngrams)
        and 1 <= ngrams[0] <= ngrams[1] <= 10
    ):
        raise ValueError("model artifact: bad ngram_range")
    if type(max_chars) is not int or max_chars <= 0:
        raise ValueError("model artifact: bad max_chars")
    if not _str_list(terms) or not terms or len(set(terms)) != len(terms):
        raise ValueError("model artifact: terms must be distinct strings")
    idf = _array(arrays, f"idf_{i}", np.floating, 1)
    if idf.shape != (len(terms),):
        raise ValueError("model artifact: idf does not match terms")
    k = raw.get("components")
    components = None
    if k is not None:
        if type(k) is not int or not 1 <= k <= MAX_COMPONENTS:
            raise ValueError("model artifact: bad number of components")
        components = _array(arrays, f"components_{i}", np.floating, 2)
        if components.shape != (len(terms), k):
            raise ValueError("model artifact: components do not match terms")
        components = np.ascontiguousarray(components, dtype=np.float32)
    elif f"components_{i}" in arrays:
        raise ValueError("model artifact: components without a count")
    return block_cls(
        analyzer, (ngrams[0], ngrams[1]), max_chars, terms, idf.astype(np.float64), components
    )


def _array(arrays: dict[str, np.ndarray], name: str, kind: type, ndim: int) -> np.ndarray:
    if name not in arrays:
        raise ValueError(f"model artifact: missing {name}")
    arr = arrays[name]
    if not np.issubdtype(arr.dtype, kind) or arr.ndim != ndim:
        raise ValueError(f"model artifact: {name} has the wrong type or shape")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"model artifact: {name} is not finite")
    return arr


def _str_list(value: Any) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
