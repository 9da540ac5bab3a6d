"""The Chit-Chat Challenge importer: real people's chats, pseudonymised senders, `--me`."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.data.importers.chitchat import pseudonym
from chatclone.data.people import most_active
from chatclone.data.prepare import prepare_conversations
from chatclone.errors import ChatcloneError
from chatclone.inputs import InputOptions

FIXTURE = Path(__file__).parent / "fixtures" / "chitchat" / "dataset.json"
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


def load():
    return load_data(f"chitchat:{FIXTURE}")


def test_senders_are_short_stable_pseudonyms_never_the_raw_ids():
    result = load()
    senders = {m.sender for c in result.conversations for m in c.messages}
    assert senders == {
        pseudonym(A),
        pseudonym(B),
        pseudonym("33333333-3333-4333-8333-333333333333"),
    }
    assert all(s.startswith("person-") and len(s) == len("person-") + 6 for s in senders)
    assert pseudonym(A) == pseudonym(A.upper())  # the same person however the id is written
    assert A not in repr(result.conversations)


def test_turns_are_flattened_trimmed_and_bad_records_counted():
    result = load()
    (report,) = result.reports
    first = next(c for c in result.conversations if c.id == "chitchat-conv-ab-1")
    assert [m.text for m in first.messages] == [
        "hey whats up",
        "long day lol",
        "Not much. You?",
        "same old",
    ]
    assert first.messages[0].timestamp == 1525289895.0
    assert report.skipped["empty"] == 1 and report.skipped["unparsable"] == 1
    assert report.imported == 9


def test_the_most_active_person_is_the_default_voice_and_only_their_chats_are_kept():
    assert most_active(load().conversations, 1)[0].name == pseudonym(A)
    prepared = prepare_conversations(load(), InputOptions())
    assert {c.id for c in prepared.conversations} == {"chitchat-conv-ab-1", "chitchat-conv-ac-1"}
    assert "most active" in prepared.owners.how
    persona = {m.sender for c in prepared.conversations for m in c.messages if m.outgoing}
    assert persona == {pseudonym(A)}


@pytest.mark.parametrize("name", [B, pseudonym(B)])
def test_me_picks_another_person_by_pseudonym_or_raw_id(name):
    prepared = prepare_conversations(load(), InputOptions(me=[name]))
    assert {c.id for c in prepared.conversations} == {"chitchat-conv-ab-1", "chitchat-conv-bc-1"}
    persona = {m.sender for c in prepared.conversations for m in c.messages if m.outgoing}
    assert persona == {pseudonym(B)}


def test_an_unknown_me_names_the_most_active_people():
    with pytest.raises(ChatcloneError) as e:
        prepare_conversations(load(), InputOptions(me=["person-000000"]))
    assert str(e.value) == (
        "--me person-000000: nobody of that name in the dataset. Name one of its people, e.g. "
        f"the most active: {pseudonym(A)} (5 messages), {pseudonym(B)} (2 messages), "
        f"{pseudonym('33333333-3333-4333-8333-333333333333')} (2 messages)"
    )


def test_the_installed_dataset_reads_whole():
    result = load_data("chitchat")
    assert len(result.conversations) > 7000
    top = most_active(result.conversations, 10)
    assert top[0].messages > 20_000 and top[0].conversations > 500
    assert sum(r.imported for r in result.reports) > 250_000


def test_inspect_lists_the_most_active_people(capsys):
    from chatclone import cli

    assert cli.main(["inspect", f"chitchat:{FIXTURE}"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"Most active people (--me NAME clones another): {pseudonym(A)} (5 messages, 2 "
        f"conversations), {pseudonym(B)} (2 messages, 2 conversations)"
    ) in out
