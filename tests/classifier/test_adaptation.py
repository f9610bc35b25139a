"""The pipeline adapts to each team's data: settings chosen by cross-validation for the configured
objective, no auto-routing a cold-start model cannot vouch for, and text in any language."""

from __future__ import annotations

import random

import numpy as np
import pytest

from classifier import pipeline
from classifier.confidence import choose_threshold
from classifier.pipeline import TextClassifier, normalize


def _imbalanced(seed: int) -> tuple[list[str], list[str]]:
    """90 % "big", 10 % "small"; each class's signal word shows up in half of its tickets and
    the other class's in 30 %: balanced class weights catch more "small" tickets (macro-F1)
    at the cost of misfiling "big" ones (accuracy)."""
    rng = random.Random(seed)
    common = [f"w{i}" for i in range(30)]
    texts, labels = [], []
    for n, label, own, other in [(540, "big", "alpha", "beta"), (60, "small", "beta", "alpha")]:
        for _ in range(n):
            words = rng.sample(common, 6)
            if rng.random() < 0.5:
                words.append(own)
            if rng.random() < 0.3:
                words.append(other)
            texts.append(" ".join(words))
            labels.append(label)
    return texts, labels


def _cv(result: pipeline.TrainResult, key: str) -> float:
    return result.selection["cv_" + key]


def test_the_search_maximises_the_configured_objective():
    texts, labels = _imbalanced(3)

    by_f1 = pipeline.train(texts, labels, objective="macro_f1")
    by_accuracy = pipeline.train(texts, labels, objective="accuracy")

    assert by_f1.selection["chosen"]["balanced"] is True
    assert by_accuracy.selection["chosen"]["balanced"] is False
    assert _cv(by_f1, "macro_f1") > _cv(by_accuracy, "macro_f1") + 0.02
    assert _cv(by_accuracy, "accuracy") > _cv(by_f1, "accuracy") + 0.01
    # Every candidate is recorded with both CV scores; exactly one is the chosen one.
    for result in (by_f1, by_accuracy):
        tried = result.selection["candidates"]
        assert len(tried) >= 5 and sum(c["chosen"] for c in tried) == 1
        assert all(0 <= c["macro_f1"] <= 1 and 0 <= c["accuracy"] <= 1 for c in tried)
        assert result.selection["cv_rows"] == result.n_train


def test_it_refuses_an_unknown_objective():
    texts, labels = _imbalanced(4)
    with pytest.raises(ValueError, match="objective"):
        pipeline.train(texts, labels, objective="recall")


def test_the_search_stops_at_the_budget_and_says_so():
    texts, labels = _imbalanced(5)

    result = pipeline.train(texts, labels, budget_seconds=0.0)

    # Not even the final training with the default fits: the default without its costliest
    # block (LSA), then also without word pairs, is scored and taken for the budget.
    assert result.selection["stopped_by_budget"] is True
    assert result.selection["chosen_for_budget"] is True
    default, light, lighter = result.selection["candidates"]
    assert "lsa" in default["blocks"] and "pairs" in default["blocks"] and lighter["chosen"]
    assert light["blocks"] == [b for b in default["blocks"] if b != "lsa"]
    assert lighter["blocks"] == [b for b in light["blocks"] if b != "pairs"]
    assert all(b.analyzer != "word_pairs" and b.components is None for b in result.model.blocks)
    assert result.model.predict_one("alpha w1 w2").label == "big"  # still a working model


def test_heavy_data_trains_cheaper(monkeypatch):
    """Many rows x classes (30k tickets in 100 classes in production; a lower bar here): no
    LSA block (its SVD is not even computed) and the final training uses 3 folds, not 5."""
    from classifier import linear

    texts, labels = _imbalanced(8)
    monkeypatch.setattr(linear, "MANY_FOLDS_MAX_WORK", 100)

    result = pipeline.train(texts, labels)

    assert result.selection["final_folds"] == 3 and result.selection["heavy"] is True
    assert all("lsa" not in c["blocks"] for c in result.selection["candidates"])
    assert len(result.selection["candidates"]) >= 4  # the rest of the search still ran
    assert result.model.predict_one("alpha w1 w2").label == "big"


def test_pairs_are_kept_where_only_word_pairs_tell_the_classes_apart():
    """Each class is two word pairs (red car / blue bike versus red bike / blue car): every
    single word is as common in both classes, so only the pairs block separates them."""
    rng = random.Random(6)
    texts, labels = [], []
    for label, pairs in [
        ("east", [("red", "car"), ("blue", "bike")]),
        ("west", [("red", "bike"), ("blue", "car")]),
    ]:
        for _ in range(150):
            words = [*rng.choice(pairs), *rng.sample([f"n{i}" for i in range(20)], 4)]
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(label)

    result = pipeline.train(texts, labels)

    tried = {tuple(c["blocks"]): c["macro_f1"] for c in result.selection["candidates"]}
    assert "pairs" in result.selection["chosen"]["blocks"]
    without_pairs = next(v for blocks, v in tried.items() if "pairs" not in blocks)
    assert _cv(result, "macro_f1") > without_pairs + 0.2
    assert result.model.predict_one("n1 red n2 car").label == "east"
    assert result.model.predict_one("blue n3 n4 car").label == "west"


# --- cold start ---------------------------------------------------------------------------------


def test_a_few_correct_answers_cannot_vouch_for_95_percent():
    conf = np.linspace(0.99, 0.5, 30)
    correct = np.ones(30, dtype=bool)  # 30 of 30 right: 95 % would need 57 with 0 mistakes
    assert choose_threshold(conf, correct, 0.95) == (0.5, False)
    assert choose_threshold(conf, correct, 0.95, pseudo_errors=0) == (0.5, True)
    many = np.linspace(0.99, 0.5, 200)
    threshold, reached = choose_threshold(many, np.ones(200, dtype=bool), 0.95)
    assert reached and threshold == pytest.approx(0.5)


def test_a_cold_start_model_routes_nothing_and_says_why():
    rng = random.Random(7)
    topics = {"printer": "toner jam tray", "access": "password login vpn", "hr": "payslip leave"}
    texts, labels = [], []
    for label, words in topics.items():
        for _ in range(12):  # 36 tickets: too few held-out answers to vouch for 95 %
            texts.append(" ".join([*rng.sample(words.split(), 2), f"ref{rng.randrange(99)}"]))
            labels.append(label)

    result = pipeline.train(texts, labels)

    assert result.auto_route is False and result.metrics["auto_route"] is False
    assert result.threshold > 1.0  # no confidence reaches it
    assert result.metrics["coverage"] == 0.0
    pred = result.model.predict_one("toner jam in tray")
    assert pred.label == "printer" and pred.confidence < result.threshold  # guesses, for triage


# --- multilingual text ----------------------------------------------------------------------------

SPANISH_GERMAN = {
    "access": [
        "No puedo iniciar sesión, mi contraseña está bloqueada",
        "Olvidé la contraseña del correo, necesito restablecerla",
        "La cuenta de usuario está bloqueada tras tres intentos de inicio de sesión",
        "Ich kann mich nicht anmelden, mein Passwort ist gesperrt",
        "Passwort vergessen, bitte das Konto entsperren",
        "Benutzerkonto gesperrt nach drei falschen Anmeldungen",
    ],
    "hardware": [
        "La impresora no imprime y la pantalla del portátil parpadea",
        "El teclado del portátil no funciona, teclas rotas",
        "La pantalla se queda en negro al encender el portátil",
        "Der Drucker druckt nicht und der Bildschirm flackert",
        "Die Tastatur meines Laptops ist kaputt, Tasten klemmen",
        "Bildschirm bleibt schwarz beim Einschalten des Laptops",
    ],
    "purchase": [
        "Necesitamos comprar licencias nuevas, por favor enviar la factura",
        "Solicitud de compra de dos monitores, adjunto el presupuesto",
        "Pedido de portátiles nuevos para el equipo, aprobación de compra",
        "Wir müssen neue Lizenzen kaufen, bitte die Rechnung schicken",
        "Bestellung von zwei Monitoren, Angebot im Anhang",
        "Kaufanfrage für neue Laptops, bitte Bestellung freigeben",
    ],
}


def _multilingual() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, examples in SPANISH_GERMAN.items():
        for text in examples * 6:  # a small team's history: each ticket seen a few times
            texts.append(text)
            labels.append(label)
    return texts, labels


def test_it_normalises_accents_case_and_compatibility_forms():
    assert normalize("Contraseña BLOQUEADA") == normalize("contrasena bloqueada") == (
        "contrasena bloqueada"
    )
    assert normalize("Straße GRÖSSE") == "strasse grosse"  # ß folds to ss
    full_width = "\uff46\uff55\uff4c\uff4c \ufb01le"  # "full file": full-width letters, ligature
    assert normalize(full_width) == "full file"
    assert normalize("İstanbul") == "istanbul"
    assert normalize("한국어 टिकट") == "한국어 टिकट"  # Hangul recomposed, Devanagari signs kept


def test_it_classifies_spanish_and_german_tickets_it_has_not_seen():
    texts, labels = _multilingual()
    model = pipeline.train(texts, labels).model

    unseen = {
        "access": ["CONTRASENA bloqueada, no puedo iniciar sesion", "Passwort gesperrt, Konto"],
        "hardware": ["la impresora no imprime nada", "Der Bildschirm meines Laptops flackert"],
        "purchase": ["Factura de la compra de licencias", "Rechnung für die Bestellung"],
    }
    for label, tickets in unseen.items():
        for ticket in tickets:
            assert model.predict_one(ticket).label == label, ticket
    # Accents, case and compatibility forms change nothing about what the model reads.
    assert model.predict_one("Contraseña bloqueada").top == model.predict_one(
        "CONTRASENA BLOQUEADA"
    ).top
    loaded = TextClassifier.from_bytes(model.to_bytes())
    assert loaded.normalized and loaded.predict_one("Straße Drucker") == model.predict_one(
        "STRASSE drucker"
    )


def test_no_stop_words_are_dropped_in_any_language():
    """Words like "not" / "nicht" / "no" are what tell these two classes apart; an English (or
    any) stop-word list would drop them."""
    texts, labels = [], []
    for word in ("no", "nicht", "not"):
        for i in range(30):
            texts += [f"vpn {word} works {i}", f"vpn works fine {i}"]
            labels += ["broken", "fine"]

    model = pipeline.train(texts, labels).model

    assert model.predict_one("vpn nicht works").label == "broken"
    assert model.predict_one("vpn works").label == "fine"
