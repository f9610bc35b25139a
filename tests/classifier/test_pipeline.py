"""The pure ML core (classifier.pipeline): no database, small synthetic corpora."""

from __future__ import annotations

import io
import json
import random
import zipfile

import numpy as np
import pytest

from classifier import pipeline
from classifier.pipeline import Prediction, TextClassifier

VOCAB = {
    "printer": "printer toner paper jam tray cartridge print queue spooler",
    "access": "password login account locked reset permission vpn credentials",
    "purchase": "order invoice quote laptop buy vendor budget approval",
}
FILLER = ["please", "help", "thanks", "hello", "team", "issue", "today", "urgent", "regards"]


def _corpus(n_per_class: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in VOCAB.items():
        words = words.split()
        for _ in range(n_per_class):
            tokens = rng.sample(words, 3) + rng.sample(FILLER, 4)
            rng.shuffle(tokens)
            texts.append(" ".join(tokens))
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def trained() -> pipeline.TrainResult:
    texts, labels = _corpus(40, seed=1)
    return pipeline.train(texts, labels, random_state=0)


def test_it_predicts_the_right_label_on_held_out_examples(trained: pipeline.TrainResult) -> None:
    texts, labels = _corpus(10, seed=2)
    predicted = [p.label for p in trained.model.predict_many(texts)]
    assert np.mean(np.array(predicted) == np.array(labels)) >= 0.9
    assert trained.model.predict_one("my password is locked, reset my vpn login").label == "access"


def test_it_reports_threshold_and_validation_metrics(trained: pipeline.TrainResult) -> None:
    assert 0.0 <= trained.threshold <= 1.0
    for key in ("accuracy", "macro_f1", "weighted_f1", "top3_accuracy", "coverage", "precision"):
        assert 0.0 <= trained.metrics[key] <= 1.0
    # 120 easy tickets: enough held-out answers to vouch for 95 % precision.
    assert trained.metrics["target_reached"] is True and trained.auto_route is True
    assert trained.threshold <= 1.0
    assert trained.labels == sorted(VOCAB)
    assert trained.n_train + trained.n_validation == 120
    assert trained.n_validation == 18  # 15% of 40, per class
    matrix = np.array(trained.confusion["matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == trained.n_validation


def test_it_returns_probabilities_and_top3_best_first(trained: pipeline.TrainResult) -> None:
    pred = trained.model.predict_one("toner cartridge jam in the printer tray")
    assert pred.label == "printer"
    assert len(pred.top) == 3 and pred.top[0] == (pred.label, pred.confidence)
    confidences = [p for _, p in pred.top]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)
    assert 0.0 < pred.confidence <= 1.0


def test_it_predicts_one_like_many_and_like_sklearn(trained: pipeline.TrainResult) -> None:
    texts, _ = _corpus(5, seed=3)
    texts += ["", "   ", "unknownword zzz", "printer " * 50, "Ünïcödé 打印机 toner"]
    model = trained.model
    one, many = [model.predict_one(t) for t in texts], model.predict_many(texts)
    assert [p.label for p in one] == [p.label for p in many]
    assert [[lbl for lbl, _ in p.top] for p in one] == [[lbl for lbl, _ in p.top] for p in many]
    for a, b in zip(one, many, strict=True):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-9)
    usable = [t for t in texts if t.strip()]
    fast = np.array([model._scores_one(pipeline._clean(t)) for t in usable])
    np.testing.assert_allclose(fast, model.decision_scores(usable), rtol=1e-9, atol=1e-9)


def test_it_round_trips_through_bytes(trained: pipeline.TrainResult) -> None:
    texts, _ = _corpus(5, seed=4)
    data = trained.model.to_bytes()
    assert isinstance(data, bytes)
    loaded = TextClassifier.from_bytes(data)
    assert loaded.labels == trained.model.labels
    assert loaded.predict_many(texts) == trained.model.predict_many(texts)
    assert [loaded.predict_one(t) for t in texts] == [trained.model.predict_one(t) for t in texts]


def test_it_never_unpickles(trained: pipeline.TrainResult) -> None:
    with zipfile.ZipFile(io.BytesIO(trained.model.to_bytes())) as zf:
        for name in zf.namelist():
            header = zf.read(name)[:128]
            assert b"'descr': '|O'" not in header  # no object arrays, which would need pickle


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a model", b"\x80\x04\x95 pickle-ish", b"PK\x03\x04" + b"\x00" * 40],
)
def test_it_rejects_garbage_bytes(garbage: bytes) -> None:
    with pytest.raises(ValueError):
        TextClassifier.from_bytes(garbage)


def test_it_rejects_a_tampered_artifact(trained: pipeline.TrainResult) -> None:
    with np.load(io.BytesIO(trained.model.to_bytes()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["labels"] = meta["labels"][:2]  # no longer matches coef
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(ValueError, match="shapes"):
        TextClassifier.from_bytes(buf.getvalue())
    truncated = trained.model.to_bytes()[:-100]
    with pytest.raises(ValueError):
        TextClassifier.from_bytes(truncated)


def test_it_returns_no_label_for_empty_text(trained: pipeline.TrainResult) -> None:
    for text in ("", "   \n\t "):
        assert trained.model.predict_one(text) == Prediction(label=None, confidence=0.0, top=())
    assert trained.model.predict_many(["", "printer toner"])[0].label is None


def test_it_handles_a_huge_text(trained: pipeline.TrainResult) -> None:
    text = "toner cartridge paper jam " * 40_000  # ~1 MB
    assert len(text) > 1_000_000
    assert trained.model.predict_one(text).label == "printer"
    assert trained.model.predict_many([text])[0].label == "printer"


def test_it_refuses_a_single_class() -> None:
    with pytest.raises(ValueError, match="2 distinct labels"):
        pipeline.train(["printer toner"] * 10, ["printer"] * 10)
    with pytest.raises(ValueError, match="2 distinct labels"):  # the 2nd class has no text
        pipeline.train(["printer toner"] * 10 + [""], ["printer"] * 10 + ["access"])


def test_it_trains_with_a_single_example_class() -> None:
    texts, labels = _corpus(20, seed=5)
    result = pipeline.train([*texts, "budget spreadsheet macro"], [*labels, "finance"])
    assert "finance" in result.labels  # trained on, never validated
    assert result.model.predict_one("printer toner").label == "printer"
    assert result.n_validation == 9


def test_it_trains_on_two_classes() -> None:
    texts, labels = _corpus(15, seed=6)
    keep = [i for i, label in enumerate(labels) if label != "purchase"]
    result = pipeline.train([texts[i] for i in keep], [labels[i] for i in keep])
    pred = result.model.predict_one("vpn password locked")
    assert pred.label == "access" and len(pred.top) == 2
    assert TextClassifier.from_bytes(result.model.to_bytes()).predict_one("vpn") == (
        result.model.predict_one("vpn")
    )


def test_it_picks_the_widest_threshold_reaching_the_target() -> None:
    conf = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, False, True, False])

    def choose(c: np.ndarray, ok: np.ndarray, target: float) -> tuple[float, bool]:
        return pipeline.choose_threshold(c, ok, target, pseudo_errors=0)

    assert choose(conf, correct, 0.8) == (0.7, True)  # 4/5 correct at >= 0.7
    assert choose(conf, correct, 0.85) == (0.9, True)  # 3/4 at >= 0.8
    assert choose(conf, ~correct, 0.9) == (0.6, False)  # best precision 0.5
    # With the support rule (3 pseudo-errors) 4 of 5 is 4/8: 0.8 is out of reach.
    assert pipeline.choose_threshold(conf, correct, 0.8) == (0.7, False)


def test_it_evaluates_with_latency(trained: pipeline.TrainResult) -> None:
    texts, labels = _corpus(5, seed=7)
    metrics = pipeline.evaluate(trained.model, [*texts, ""], [*labels, "access"], threshold=0.5)
    assert metrics["accuracy"] == pytest.approx(15 / 16)  # the empty text counts as wrong
    assert metrics["coverage"] <= 15 / 16
    assert metrics["predict_ms_p50"] > 0 and metrics["predict_ms_p99"] >= metrics["predict_ms_p50"]


MESSY = [
    "Drucker  druckt\tnicht -- Toner leer!!",
    "\u0130stanbul ofisinde VPN \u00e7al\u0131\u015fm\u0131yor",  # Turkish dotted/dotless i
    "\u03a3\u039f\u03a6\u0399\u0391 \u039f\u0394\u039f\u03a3 \u0391\u03a3",  # Greek, final sigma
    "打印机 卡纸了\u3000请帮忙\xa0 thanks",
    "a b c d e  x  printer",
    "emoji 🖨️ printer-jam_id=42 http://x.example/a?b=c",
    "\n\n  leading and trailing whitespace \r\n",
    "supercalifragilisticexpialidocious " * 3,
]


def test_it_counts_char_ngrams_per_word_exactly_like_sklearn() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from classifier.linear import Block

    vec = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit(MESSY)
    terms = vec.get_feature_names_out().tolist()
    block = Block("char_wb", (2, 5), 10_000, terms, np.ones(len(terms)))
    for text in [*MESSY, "", "   ", "x"]:
        expected = vec.transform([text]).tocoo()
        for _ in range(2):  # cold, then served from the word cache
            cols, counts = block.counts(text)
            got = dict(zip(cols.tolist(), counts.tolist(), strict=True))
            assert got == dict(zip(expected.col.tolist(), expected.data.tolist(), strict=True))


def test_it_pairs_the_distinct_words_of_a_texts_head() -> None:
    from classifier.linear import PAIR_WORDS, word_pairs

    assert word_pairs("VPN down, vpn login fails") == [
        "down&fails",
        "down&login",
        "down&vpn",
        "fails&login",
        "fails&vpn",
        "login&vpn",
    ]
    long = word_pairs(" ".join(f"w{i:02d}" for i in range(PAIR_WORDS + 5)))
    assert len(long) == PAIR_WORDS * (PAIR_WORDS - 1) // 2
    assert not any(f"w{PAIR_WORDS:02d}" in pair for pair in long)  # only the head is paired
    assert word_pairs("") == [] and word_pairs("single") == []


def test_it_scores_messy_text_like_sklearn(trained: pipeline.TrainResult) -> None:
    model = trained.model
    # Every kind of block is in this model, the LSA projection included.
    analyzers = {(b.analyzer, b.components is not None) for b in model.blocks}
    assert analyzers == {("word", False), ("word_pairs", False), ("word", True), ("char_wb", False)}
    fast = np.array([model._scores_one(pipeline._clean(t)) for t in MESSY])
    np.testing.assert_allclose(fast, model.decision_scores(MESSY), rtol=1e-6, atol=1e-6)


def test_it_keeps_the_top_label_and_a_distribution_after_calibration() -> None:
    from classifier.confidence import rescale

    proba = np.array([[0.5, 0.3, 0.2], [0.98, 0.02, 0.0], [1.0, 0.0, 0.0], [0.4, 0.35, 0.25]])
    conf = np.array([0.9, 0.6, 0.7, 0.1])  # the last one would let the runner-up overtake
    out = rescale(proba, conf)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert (out.argmax(axis=1) == proba.argmax(axis=1)).all()
    np.testing.assert_allclose(out[:3, 0], conf[:3])
    assert out[0, 1] / out[0, 2] == pytest.approx(0.3 / 0.2)  # runners-up keep their ratio
    assert out[3, 0] >= out[3, 1] and out[3, 0] > 0.1  # floored, still a distribution


def test_it_ships_a_confidence_model_in_the_artifact(trained: pipeline.TrainResult) -> None:
    model = trained.model
    assert model.confidence is not None
    loaded = TextClassifier.from_bytes(model.to_bytes())
    np.testing.assert_array_equal(loaded.confidence.weights, model.confidence.weights)
    assert loaded.confidence.bias == model.confidence.bias


def _rewrite(data: bytes, change) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    change(meta, arrays)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_it_rejects_old_or_inconsistent_confidence_fields(trained: pipeline.TrainResult) -> None:
    data = trained.model.to_bytes()

    def old_version(meta: dict, arrays: dict) -> None:
        meta["version"] = 1

    def short_weights(meta: dict, arrays: dict) -> None:
        arrays["confidence_weights"] = arrays["confidence_weights"][:-1]

    def no_weights(meta: dict, arrays: dict) -> None:
        del arrays["confidence_weights"]

    def bad_bias(meta: dict, arrays: dict) -> None:
        meta["confidence_bias"] = "high"

    for change, message in [
        (old_version, "version"),
        (short_weights, "confidence weights"),
        (no_weights, "missing confidence_weights"),
        (bad_bias, "confidence_bias"),
    ]:
        with pytest.raises(ValueError, match=message):
            TextClassifier.from_bytes(_rewrite(data, change))


def test_it_rejects_components_that_do_not_match_their_block(
    trained: pipeline.TrainResult,
) -> None:
    data = trained.model.to_bytes()
    i = next(n for n, b in enumerate(trained.model.blocks) if b.components is not None)

    def fewer_rows(meta: dict, arrays: dict) -> None:
        arrays[f"components_{i}"] = arrays[f"components_{i}"][:-1]

    def no_count(meta: dict, arrays: dict) -> None:
        meta["blocks"][i]["components"] = None

    for change, message in [(fewer_rows, "components do not match"), (no_count, "without a count")]:
        with pytest.raises(ValueError, match=message):
            TextClassifier.from_bytes(_rewrite(data, change))


def test_it_still_loads_a_version_2_artifact(trained: pipeline.TrainResult) -> None:
    """Version 2 (word + char blocks, no pairs or LSA) is what models trained before version 3
    are stored as; an active one must keep classifying after an upgrade."""
    model = trained.model
    keep = [
        n for n, b in enumerate(model.blocks) if b.components is None and b.analyzer != "word_pairs"
    ]
    columns = np.concatenate([np.arange(model._offsets[n], model._offsets[n + 1]) for n in keep])
    old = TextClassifier(
        labels=model.labels,
        blocks=[model.blocks[n] for n in keep],
        coef=model.coef[:, columns],
        intercept=model.intercept,
        temperature=model.temperature,
        confidence=model.confidence,
    )

    def as_version_2(meta: dict, arrays: dict) -> None:
        meta["version"] = 2
        for block in meta["blocks"]:
            del block["components"]

    loaded = TextClassifier.from_bytes(_rewrite(old.to_bytes(), as_version_2))
    text = "toner cartridge jam in the printer tray"
    assert loaded.predict_one(text) == old.predict_one(text)
    assert loaded.predict_one(text).label == "printer"


def test_it_trains_on_many_imbalanced_classes() -> None:
    rng = random.Random(8)
    texts, labels = [], []
    for c in range(60):  # Zipf-like sizes, 120 examples down to 1: some classes miss folds
        keywords = [f"kw{c}x{j}" for j in range(5)]
        for _ in range(max(1, int(120 / (c + 1) ** 1.2))):
            filler = [f"common{rng.randrange(40)}" for _ in range(6)]
            texts.append(" ".join(rng.sample(keywords, 2) + filler))
            labels.append(f"class-{c}")
    result = pipeline.train(texts, labels)
    assert len(result.labels) == 60 and result.metrics["macro_f1"] > 0.8
    model = TextClassifier.from_bytes(result.model.to_bytes())
    pred = model.predict_one("kw3x1 kw3x4 common7")
    assert pred.label == "class-3" and pred.confidence >= result.threshold
    assert sum(p for _, p in pred.top) <= 1.0 + 1e-9


def test_it_records_the_sklearn_version_and_refuses_another_series(
    trained: pipeline.TrainResult,
) -> None:
    import sklearn

    data = trained.model.to_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert json.loads(npz["meta"].tobytes())["sklearn"] == sklearn.__version__
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])

    def trained_with(version: object):
        def change(meta: dict, arrays: dict) -> None:
            meta["sklearn"] = version

        return change

    # Another patch release of the same series loads; another minor or major series does not.
    same_series = _rewrite(data, trained_with(f"{major}.{minor}.99"))
    assert TextClassifier.from_bytes(same_series).labels == trained.model.labels
    for version in (f"{major}.{minor + 1}.0", f"{major}.{minor - 1}.2", f"{major + 1}.{minor}.0"):
        with pytest.raises(ValueError, match=f"trained with scikit-learn {version}.*retrain"):
            TextClassifier.from_bytes(_rewrite(data, trained_with(version)))
    for junk in (None, 19, "latest"):
        with pytest.raises(ValueError, match="no scikit-learn version"):
            TextClassifier.from_bytes(_rewrite(data, trained_with(junk)))


def test_a_version_3_artifact_reads_its_text_unnormalised(trained: pipeline.TrainResult) -> None:
    """Version 3 models were trained on raw text: loading one must not start folding accents
    (its vocabulary has the accented forms), nor ask for a scikit-learn version it never had."""

    def as_version_3(meta: dict, arrays: dict) -> None:
        meta["version"] = 3
        del meta["sklearn"], meta["normalized"]

    loaded = TextClassifier.from_bytes(_rewrite(trained.model.to_bytes(), as_version_3))
    assert loaded.normalized is False and trained.model.normalized is True
    assert loaded.predict_one("printer toner jam") == trained.model.predict_one("printer toner jam")
