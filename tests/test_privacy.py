import json
from collections import Counter
from pathlib import Path

import pytest

from chatclone.data.privacy import Redactor, iban_ok, luhn

CASES = Path(__file__).parent / "fixtures" / "privacy" / "pii_cases.jsonl"


def found(text: str) -> Counter:
    return Counter(
        {
            k.lower(): text.count(f"<{k}>")
            for k in ("PHONE", "EMAIL", "URL", "IBAN", "CARD")
            if f"<{k}>" in text
        }
    )


def test_precision_and_recall_on_known_pii():
    tp = fp = fn = 0
    misses = []
    for line in CASES.read_text().splitlines():
        case = json.loads(line)
        got, want = found(Redactor().text(case["text"])), Counter(case["expect"])
        tp += sum((got & want).values())
        fp += sum((got - want).values())
        fn += sum((want - got).values())
        if got != want:
            misses.append((case["text"], dict(got), dict(want)))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert tp >= 18
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, misses)


def test_checksums():
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")


def test_names_consistent_everywhere_and_in_mentions():
    r = Redactor(["Maya Cohen", "Ana Silva", "Bo"])
    maya = r.sender("Maya Cohen")
    assert maya == r.sender("Maya Cohen") and maya != r.sender("Ana Silva")
    first, last = maya.split()
    assert (
        r.text("Hi Maya! Is Cohen your surname, maya?")
        == f"Hi {first}! Is {last} your surname, {first}?"
    )
    assert "Maya" not in maya and "Cohen" not in maya
    assert r.text("Bo's bike") == f"{r.sender('Bo')}'s bike"
    assert r.counts["name"] == 4


def test_names_that_are_words_only_when_capitalised():
    r = Redactor(["Will Turner"])
    fake = r.sender("Will Turner").split()[0]
    assert r.text("I will ask Will") == f"I will ask {fake}"


def test_kept_persona_name_and_phone_number_senders():
    r = Redactor(["Ana Silva", "Bo Lee", "+44 7700 900456"], keep=["Ana Silva"])
    assert r.sender("Ana Silva") == "Ana Silva"
    assert r.text("Ana met Bo") == f"Ana met {r.sender('Bo Lee').split()[0]}"
    assert r.sender("+44 7700 900456").startswith("Person ")


def test_pii_before_names():
    r = Redactor(["Maya Cohen"])
    assert r.text("write to maya.cohen@example.com") == "write to <EMAIL>"


def test_stand_ins_never_reuse_a_real_name():
    r = Redactor(["Alex Park", "Sam Stone", "Zoe Park"])
    fakes = {r.sender(n) for n in ("Alex Park", "Sam Stone", "Zoe Park")}
    assert not any(w in {"Alex", "Park", "Sam", "Stone", "Zoe"} for f in fakes for w in f.split())


def test_everyday_words_and_domains_in_names_leave_text_alone():
    from chatclone.data.privacy import Redactor

    r = Redactor(["My Love", "abcnews.go.com", "Maya Cohen"])
    text = "I love to go home with my dog, see abcnews.go.com later, Maya"
    out = r.text(text)
    assert out.startswith("I love to go home with my dog, see ") and not out.endswith("Maya")
    assert r.sender("My Love") != "My Love" and r.sender("My Love").startswith("Person ")
    assert r.sender("abcnews.go.com").startswith("Person ")
    assert r.sender("My Love") == r.sender("My Love")


def test_names_with_a_title_an_initial_or_a_number_are_still_names():
    """Only e-mails, @handles, phone numbers and dotted words are handles; "Dr. Yael Katz",
    "Noa L." and "Dani Levi 2" are people whose names are hidden in every mention."""
    r = Redactor(["Dr. Yael Katz", "Noa L.", "Dani Levi 2", "+972 54-123-4567", "noa.levi"])
    for text in [
        "Yael said she is coming",
        "Katz is late",
        "hey yael!",
        "Noa said hi",
        "Levi here",
    ]:
        out = r.text(text)
        assert not {"yael", "katz", "noa", "levi"} & set(out.lower().replace("!", "").split()), out
    assert r.text("thanks Dr Katz").startswith("thanks Dr ")  # the title is no name
    assert r.sender("Dr. Yael Katz") == "Dr. " + r.text("Yael Katz")
    assert r.sender("Dani Levi 2") == r.text("Dani Levi") + " 2"


def test_two_people_never_share_a_stand_in():
    r = Redactor(["Dani", "Dani 2", "Dani!", "Maya Cohen"])
    fakes = [r.sender(n) for n in ["Dani", "Dani 2", "Dani!", "Maya Cohen"]]
    assert len(set(fakes)) == 4, fakes
    assert r.sender("Dani") == fakes[0]  # and each keeps theirs
    assert r.sender("+972 54-123-4567").startswith("Person ")
    assert r.sender("noa.levi").startswith("Person ")


def test_turkish_dotted_capital_i():
    r = Redactor(["İbrahim Öztürk"])
    for text in ["İbrahim geldi", "Merhaba İbrahim", "IBRAHIM", "ibrahim"]:
        assert "brahim" not in r.text(text).lower(), text
    assert r.text("İbrahim Öztürk geldi") == r.sender("İbrahim Öztürk") + " geldi"


def test_name_words_that_are_ordinary_words_stay_words():
    r = Redactor(["Very long username", "Even longer username"])
    assert r.text("Hey! My username is very short") == "Hey! My username is very short"
    assert r.text("no longer, even so") == "no longer, even so"
    whole = r.sender("Very long username")
    assert r.text("I added Very long username") == f"I added {whole}"
    assert r.counts["name"] == 3


def test_names_that_are_words_are_replaced_where_used_as_names():
    names = ["Will Turner", "Rose Miller", "Sunny Patel", "Bill Evans", "Hope Garcia", "Mark Weber"]
    r = Redactor(names)
    will, rose, sunny, bill, hope, mark = (r.sender(n).split()[0] for n in names)
    used = {
        "I saw Will yesterday": f"I saw {will} yesterday",
        "Rose said hi": f"{rose} said hi",
        "Sunny's dog is cute": f"{sunny}'s dog is cute",
        "Bill and I will come": f"{bill} and I will come",
        "thanks Hope!": f"thanks {hope}!",
        "Mark, are you awake?": f"{mark}, are you awake?",
        "ask will turner": f"ask {will} {r.sender('Will Turner').split()[1]}",
        "hey rose, you around?": f"hey {rose}, you around?",
    }
    for text, want in used.items():
        assert r.text(text) == want
    for text in (
        "will you come?",
        "Will you come?",
        "Hope you're well",
        "It's sunny today",
        "Can we split the bill?",
        "Mark my words",
        "a rose for you",
        "Ich will morgen los, eine Rose kaufen",
        "I WILL come",
    ):
        assert r.text(text) == text


def test_ordinary_words_come_from_word_frequencies():
    from chatclone.data.name_use import is_ordinary_word

    # Words no list in the code names, in four languages, and names that are no words.
    assert all(map(is_ordinary_word, ["breakfast", "kühlschrank", "fenêtre", "cuchara"]))
    assert all(map(is_ordinary_word, ["will", "rose", "sunny", "bill", "hope", "username"]))
    assert not any(map(is_ordinary_word, ["maya", "cohen", "barack", "turner", "zoe"]))


def test_contact_details_in_lower_case_bare_and_beside_dates():
    r = Redactor()
    assert r.text("iban de89 3704 0044 0532 0130 00 please") == "iban <IBAN> please"
    assert r.text("see example.org or shop.example.co.uk/path.") == "see <URL> or <URL>."
    for text in ("2023-05-14 18:30", "14.05.2023 18:30", "05/14/2023 6:30 pm"):
        assert r.text(f"at {text}, call 0170 1234567") == f"at {text}, call <PHONE>"
    assert r.text("order 4501234567 shipped") == "order 4501234567 shipped"


def test_a_one_to_one_chat_title_is_hidden_when_that_person_never_wrote(tmp_path):
    """The title of a chat with one other person is their name, also when every message in the
    export is the owner's (or theirs came from a phone number): title and mentions are hidden."""
    from chatclone.data.importers import load_data
    from chatclone.data.prepare import prepare_conversations
    from chatclone.inputs import InputOptions

    path = tmp_path / "WhatsApp Chat with Rahel Tesfaye.txt"
    path.write_text(
        "1/2/21, 9:41 PM - Ana Silva: hey Rahel, are you coming?\n"
        "1/2/21, 9:45 PM - +251 91 123 4567: hi Ana it's Rahel Tesfaye\n",
        encoding="utf-8",
    )
    prepared = prepare_conversations(load_data(path), InputOptions(me=["Ana Silva"], redact=True))
    [conv] = prepared.conversations
    written = conv.title + " " + " ".join(m.sender + " " + m.text for m in conv.messages)
    assert "Rahel" not in written and "Tesfaye" not in written, written
    assert conv.messages[0].text.startswith("hey " + conv.title.split()[0])


@pytest.mark.parametrize(
    "text, redacted",
    [
        ("card 4111 1111 1111 1111 12/25", "card <CARD> 12/25"),  # a card and its expiry
        ("4111-1111-1111-1111 123", "<CARD> 123"),  # ... and its code
        ("call +49 151 23456789 / 0151 23456789", "call <PHONE> / <PHONE>"),
        ("numbers: 0151 23456789 0151 98765432", "numbers: <PHONE> <PHONE>"),
        ("ruf 0151 23456789 18.30 an", "ruf <PHONE> 18.30 an"),
        ("tel 06 12 34 56 78 / 06 98 76 54 32", "tel <PHONE> / <PHONE>"),
        # numbers side by side that are no phone numbers stay
        ("we were 2 3 4 5 6 7 8 9 10 11 12 13 14 15", None),
        ("ids 123456 234567 345678 456789", None),
        ("score 2021 2022 2023 2024 2025", None),
    ],
)
def test_a_number_beside_other_numbers(text, redacted):
    assert Redactor([]).text(text) == (redacted or text)
