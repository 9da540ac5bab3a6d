"""Signal, iMessage and Slack importers; Messenger detection by content, Telegram account exports
with chats the owner never wrote in, and duplicates of overlapping exports."""

import json
import shutil
from pathlib import Path

from chatclone.data.importers import detect, load_data
from chatclone.data.prepare import prepare_conversations
from chatclone.inputs import InputOptions

FIX = Path(__file__).parent / "fixtures"
SLACK = FIX / "slack" / "Acme Slack export"


def texts(conv):
    return [(m.sender, m.text) for m in conv.messages]


def reconciles(report):
    return report.read == report.imported + sum(report.skipped.values()) + report.continuation


def test_signal_strips_quotes_reactions_attachments_and_drops_calls():
    result = load_data(FIX / "signal")
    by_title = {c.title: c for c in result.conversations}
    noor = by_title["Noor Haddad"]  # the folder names the conversation
    assert texts(noor) == [
        ("Me", "Leaving now"),
        ("Noor Haddad", "Great, see you at the gate"),  # quote, reactions, image removed
        ("Me", "Two lines:\nsecond line here"),
        ("Noor Haddad", "> not a quote, just an arrow"),  # text on the header line is the body
    ]
    assert [m.outgoing for m in noor.messages] == [True, False, True, False]
    assert noor.messages[0].timestamp == 1706955342.0  # 2024-02-03 10:15:42, naive
    report = next(r for r in result.reports if "Noor" in r.path)
    assert dict(report.skipped) == {"media_only": 2, "system": 1, "deleted": 1}
    assert reconciles(report) and report.format == "signal"
    crew = by_title["Climbing Crew"]  # older `[YYYY-MM-DD, HH:MM]` headers
    assert texts(crew) == [
        ("Lena Vogt", "Who is in for Saturday?"),
        ("Me", "Me! Bringing the rope"),
    ]
    assert crew.messages[1].timestamp - crew.messages[0].timestamp == 120


def test_signal_is_detected_by_content_whatever_the_name(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("[2024-01-01 09:00:00] Me: hi  \n\n", encoding="utf-8")
    assert detect(path).name == "signal"
    (tmp_path / "readme.md").write_text("# Not a chat\n", encoding="utf-8")
    assert detect(tmp_path / "readme.md") is None


def test_imessage_blocks_reactions_replies_attachments():
    result = load_data(FIX / "imessage")
    conv, report = result.conversations[0], result.reports[0]
    assert conv.title == "Sam Rivera" and conv.platform == "imessage"
    assert texts(conv) == [
        ("Me", "On my way, 10 min"),  # read receipt dropped from the date line
        ("Sam Rivera", "Found your scarf"),  # Reactions: block dropped
        ("Me", "Oh thank you!\n\nIt's my favourite one"),  # a blank line inside a body
        ("Sam Rivera", "It's by the door"),  # thread reply, indented
        ("Me", "Look at this"),  # attachment path line dropped
    ]
    assert [m.outgoing for m in conv.messages] == [True, False, True, False, True]
    assert conv.messages[0].timestamp == 1707465807.0  # Feb 09, 2024  8:03:27 AM, naive
    assert dict(report.skipped) == {"media_only": 2, "deleted": 1} and reconciles(report)


def test_imessage_exporter_notes_edits_events_and_newer_tapbacks():
    """What imessage-exporter writes about a message is not its text: `Tapbacks:` lists (and
    older `Reactions:` with `Laughed by`), reply and effect notes, unsent parts; an edited
    message is its last version; a one-line group event is a system line."""
    result = load_data(FIX / "imessage_events")
    [conv], [report] = result.conversations, result.reports
    assert [(m.sender, m.text) for m in conv.messages] == [
        ("+15555550123", "Found your scarf"),
        ("Me", "haha that's funny"),
        ("Me", "see you at 6"),
        ("+15555550123", "sounds good"),
        ("Me", "Happy birthday!"),
        ("Me", "👍 by me? no: thumbs"),
    ]
    assert dict(report.skipped) == {"system": 2, "deleted": 1}
    assert report.read == report.imported + sum(report.skipped.values()) + report.continuation


def test_imessage_is_not_whatsapp_and_whatsapp_is_not_imessage():
    assert detect(FIX / "imessage" / "Sam Rivera - 12.txt").name == "imessage"
    whatsapp = FIX / "whatsapp" / "WhatsApp Chat with Priya Raman.txt"
    assert detect(whatsapp).name == "whatsapp"


def test_slack_workspace_resolves_names_links_entities_and_skips_subtypes():
    result = load_data(SLACK)
    by_title = {c.title: c for c in result.conversations}
    general = by_title["general"]
    assert texts(general) == [
        ("Ana Silva", "Notes here & ask @Ben Okafor :tada:"),  # no display name: real name
        ("Ben Okafor", "Thanks @ana, see https://example.org/docs <soon>"),  # thread reply
        ("Ana Silva", "@here standup moved to 10"),
    ]
    assert general.id == "slack:C01GENERAL" and general.messages[0].timestamp == 1705312900.0012
    dm = by_title["Ana Silva, Ben Okafor"]  # a DM's folder is its id: named by its members
    assert texts(dm) == [("Ben Okafor", "lunch?"), ("Ana Silva", "sure, 12:30")]
    report = next(r for r in result.reports if r.path.endswith("general"))
    assert dict(report.skipped) == {"system": 1, "bot": 1, "media_only": 1, "duplicate": 1}
    assert report.read == report.imported + sum(report.skipped.values())


def test_slack_zip_and_persona_by_me(tmp_path):
    archive = Path(shutil.make_archive(str(tmp_path / "Acme Slack export"), "zip", SLACK))
    result = load_data(archive)
    assert sorted(len(c.messages) for c in result.conversations) == [2, 3]
    prepared = prepare_conversations(result, InputOptions(me=["Ana Silva"], redact=False))
    mine = [m.text for c in prepared.conversations for m in c.messages if m.outgoing]
    assert mine == [
        "sure, 12:30",
        "Notes here & ask @Ben Okafor :tada:",
        "@here standup moved to 10",
    ]


def test_messenger_thread_detected_by_content_under_any_name(tmp_path):
    source = FIX / "messenger" / "your_facebook_activity" / "messages" / "inbox"
    path = tmp_path / "renee.json"
    shutil.copy(source / "reneedubois_12345" / "message_2.json", path)
    assert detect(path).name == "messenger"
    conv = load_data(path).conversations[0]
    assert conv.title == "Renée Dubois"  # mojibake still repaired
    assert all(m.sender in ("Renée Dubois", "Alex Moreau") for m in conv.messages)


def test_messenger_overlapping_files_are_deduplicated(tmp_path):
    thread = tmp_path / "inbox" / "reneedubois_12345"
    shutil.copytree(
        FIX / "messenger" / "your_facebook_activity/messages/inbox/reneedubois_12345", thread
    )
    once = load_data(thread)
    shutil.copy(thread / "message_2.json", thread / "message_3.json")  # the same messages again
    twice = load_data(thread)
    assert texts(twice.conversations[0]) == texts(once.conversations[0])
    skipped = sum((r.skipped for r in twice.reports), type(twice.reports[0].skipped)())
    assert skipped["duplicate"] == sum(r.imported for r in once.reports if "message_2" in r.path)


def _account_with(tmp_path: Path, *chats: dict) -> Path:
    data = json.loads((FIX / "telegram" / "account" / "result.json").read_text(encoding="utf-8"))
    data["chats"]["list"] += list(chats)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _msg(mid: int, sender: str, uid: str, text: str) -> dict:
    stamp = str(1672567200 + mid * 60)
    return {
        "id": mid,
        "type": "message",
        "date_unixtime": stamp,
        "from": sender,
        "from_id": uid,
        "text": text,
    }


def test_telegram_account_skips_chats_the_owner_never_wrote_in(tmp_path):
    readers = {
        "name": "News Readers",
        "type": "public_supergroup",
        "id": 31337,
        "messages": [_msg(1, "Sam Lee", "user99", "Big news"), _msg(2, "Jo Park", "user98", "Wow")],
    }
    result = load_data(_account_with(tmp_path, readers))
    titles = {c.title for c in result.conversations}
    assert "News Readers" not in titles and "Hiking Club" in titles
    report = result.reports[0]
    assert report.skipped["chat without the owner"] == 2
    assert "News Readers" in report.decisions["chats without the owner"]
    prepared = prepare_conversations(result, InputOptions())  # the owner is decidable again
    assert prepared.owners.names


def test_telegram_account_where_the_owner_never_wrote_says_what_to_pass(tmp_path):
    data = {
        "personal_information": {"user_id": 5, "first_name": "Ann"},
        "chats": {
            "list": [
                {
                    "name": "G",
                    "type": "private_group",
                    "id": 1,
                    "messages": [_msg(1, "Sam Lee", "user99", "hi")],
                }
            ]
        },
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = load_data(path)
    assert len(result.conversations) == 1  # nothing to prefer: kept for --persona
    assert "--participant" in result.reports[0].decisions["owner"]


def test_telegram_duplicate_ids_are_imported_once(tmp_path):
    raw = (FIX / "telegram" / "result.json").read_text(encoding="utf-8")
    data = json.loads(raw.replace("\\x07", "\\u0007"))  # Telegram's invalid escape
    once = load_data(FIX / "telegram" / "result.json").conversations[0]
    data["messages"] += data["messages"]  # two overlapping exports pasted together
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = load_data(path)
    assert texts(result.conversations[0]) == texts(once)
    assert result.reports[0].skipped["duplicate"] == len(once.messages)


def test_telegram_single_chat_without_name_or_id_is_named_by_its_folder(tmp_path):
    folder = tmp_path / "ChatExport_2024-05-01"
    folder.mkdir()
    data = {"type": "personal_chat", "messages": [_msg(1, "Sam Lee", "user99", "hi")]}
    (folder / "result.json").write_text(json.dumps(data), encoding="utf-8")
    conv = load_data(folder / "result.json").conversations[0]
    assert conv.title == "ChatExport_2024-05-01" and conv.id == "telegram:ChatExport_2024-05-01"
    (folder / "trip.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_data(folder / "trip.json").conversations[0].title == "trip"


def test_discord_duplicate_ids_are_imported_once(tmp_path):
    source = FIX / "discord" / "Direct Messages - quietfox [1122334455].json"
    data = json.loads(source.read_text(encoding="utf-8"))
    once = load_data(source).conversations[0]
    data["messages"] += data["messages"]
    path = tmp_path / source.name
    path.write_text(json.dumps(data), encoding="utf-8")
    result = load_data(path)
    assert texts(result.conversations[0]) == texts(once)
    assert result.reports[0].skipped["duplicate"] == len(once.messages)


def test_google_chat_and_hangouts_duplicate_ids_are_imported_once(tmp_path):
    chat = FIX / "google" / "Takeout" / "Google Chat" / "Groups" / "DM abc123" / "messages.json"
    data = json.loads(chat.read_text(encoding="utf-8"))
    data["messages"] += data["messages"]
    folder = tmp_path / "Groups" / "DM abc123"
    folder.mkdir(parents=True)
    (folder / "messages.json").write_text(json.dumps(data), encoding="utf-8")
    once = load_data(chat).conversations[0]
    result = load_data(folder / "messages.json")
    assert texts(result.conversations[0]) == texts(once)
    assert result.reports[0].skipped["duplicate"] == len(once.messages)
    hangouts = FIX / "google" / "Takeout" / "Hangouts" / "Hangouts.json"
    data = json.loads(hangouts.read_text(encoding="utf-8"))
    for conv in data["conversations"]:
        conv["events"] += conv["events"]
    (tmp_path / "Hangouts.json").write_text(json.dumps(data), encoding="utf-8")
    once = load_data(hangouts)
    result = load_data(tmp_path / "Hangouts.json")
    assert [texts(c) for c in result.conversations] == [texts(c) for c in once.conversations]
    assert result.reports[0].skipped["duplicate"] == once.reports[0].imported


def test_slack_channel_folder_alone_names_senders_from_their_profiles(tmp_path):
    shutil.copytree(SLACK / "general", tmp_path / "general")
    conv = load_data(tmp_path / "general").conversations[0]
    assert conv.title == "general"  # no channels.json: the folder names it
    assert [m.sender for m in conv.messages] == ["Ana Silva", "U04GHIJKL", "Ana Silva"]
    assert conv.messages[1].text.startswith("Thanks @ana,")  # learnt from a message's profile


def test_overlapping_exports_of_one_chat_merge_into_one_conversation(tmp_path):
    from chatclone.data.importers.overlap import merge_overlaps

    raw = (FIX / "telegram" / "result.json").read_text(encoding="utf-8")
    data = json.loads(raw.replace("\\x07", "\\u0007"))
    march, june = tmp_path / "march", tmp_path / "june"
    march.mkdir()
    june.mkdir()
    (march / "result.json").write_text(json.dumps({**data, "messages": data["messages"][:8]}))
    extra = {**data["messages"][4], "id": 999, "text": "ok", "date_unixtime": "1698600000"}
    later = [*data["messages"][3:], extra, {**extra, "id": 1000}]  # "ok" twice: both are new
    (june / "result.json").write_text(json.dumps({**data, "messages": later}))
    whole = load_data(FIX / "telegram" / "result.json").conversations[0]
    first, second = (load_data(f / "result.json").conversations[0] for f in (june, march))
    keys = {(m.sender, m.timestamp, m.text) for m in first.messages}
    overlap = sum((m.sender, m.timestamp, m.text) in keys for m in second.messages)
    result = merge_overlaps(load_data(tmp_path))  # june/ is read first
    assert len(result.conversations) == 1 and overlap > 0
    assert texts(result.conversations[0]) == texts(whole) + [("Alex Moreau", "ok")] * 2
    assert [r.skipped["duplicate"] for r in result.reports] == [0, overlap]
    assert sum(r.imported for r in result.reports) == len(result.conversations[0].messages)


def test_imessage_edit_history_over_several_lines_keeps_the_last_version():
    from chatclone.data.importers.imessage import clean

    history = ["Feb 09, 2024 11:43:00 AM line one", "line two", "Edited 1 minute later: new one"]
    assert clean([*history, "new two"]) == ("", "new one\nnew two")
    assert clean([*history, "new two", "Sent with Confetti"]) == ("", "new one\nnew two")
    # "Edited … later:" without a dated first version is what someone wrote
    assert clean(["nice", "Edited the photo later: ok"]) == ("", "nice\nEdited the photo later: ok")
