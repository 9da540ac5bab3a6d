"""Redaction meets its goals on the labelled set: structured PII (phones, e-mails, IBANs, cards,
URLs) at precision >= 0.98 and recall >= 0.95, contacts' names at recall >= 0.9, and the set is
what it claims to be."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "privacy"


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quality():
    return load_module("redaction_quality", ROOT / "bench" / "redaction_quality.py")


@pytest.fixture(scope="module")
def result(quality):
    return quality.score(*quality.load())


def test_structured_pii_goals(result):
    s = result["structured"]
    assert s["precision"] >= 0.98 and s["recall"] >= 0.95, (s, result["misses"])
    for kind in ("phone", "email", "iban", "card", "url"):
        assert result["kinds"][kind]["tp"] >= 9, kind  # every kind is really measured


def test_name_goals(result):
    names = result["kinds"]["name"]
    assert names["recall"] >= 0.9 and names["precision"] >= 0.98, (names, result["misses"])


def test_the_set_covers_languages_formats_and_traps(quality):
    contacts, rows = quality.load()
    assert len(rows) >= 300
    assert {"en", "de", "fr", "es"} <= {r["lang"] for r in rows}
    assert len({region for r in rows for region in r.get("phone_regions", ())}) >= 10
    clean = [r["text"] for r in rows if not r["spans"]]
    assert len(clean) >= 100  # sentences that must come out unchanged
    for word in ("Will", "Rose", "Sunny", "Bill", "Hope", "Mark"):
        as_name = [r for r in rows for s, e, k in r["spans"] if r["text"][s:e] == word]
        as_word = [t for t in clean if word.lower() in t.lower().split()]
        assert as_name and as_word, word


def test_fixture_is_what_the_builder_writes():
    sys.path.insert(0, str(FIXTURES))
    try:
        builder = load_module("build_labelled", FIXTURES / "build_labelled.py")
    finally:
        sys.path.remove(str(FIXTURES))
    assert builder.render(builder.build()) == (FIXTURES / "labelled.jsonl").read_text("utf-8")


def test_scoring_counts_misses_and_false_alarms(quality):
    """The scorer itself: a name left, a date turned into a phone, a phone cut short."""
    contacts = ["Maya Cohen"]
    rows = [
        {"lang": "en", "text": "hi Maya", "spans": [[3, 7, "name"]]},
        {"lang": "en", "text": "call 0170 1234567 now", "spans": [[5, 17, "phone"]]},
    ]
    assert quality.score(contacts, rows)["structured"]["recall"] == 1.0
    stand_in = quality.Redactor(contacts).tokens["maya"]
    want, units = quality.expected(rows[0], {"maya": stand_in})
    found, wrong = quality.compare(want, units, "hi Maya", {stand_in})
    assert not found and not wrong
    want, units = quality.expected(rows[1], {})
    found, wrong = quality.compare(want, units, "call <PHONE> 4567 now", set())
    assert not found  # cut short: digits left beside the placeholder
    found, wrong = quality.compare("on 2023-05-14", [], "on <PHONE>", set())
    assert wrong["phone"] == 1
