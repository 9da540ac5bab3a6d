"""Telegram, Messenger/Instagram, Google (Hangouts, Chat) and Discord importers on their fixtures."""

from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"


def texts(conv):
    return [(m.sender, m.text) for m in conv.messages]


def test_telegram_single_chat():
    result = load_data(FIX / "telegram" / "result.json")
    conv, report = result.conversations[0], result.reports[0]
    assert conv.id == "telegram:4242" and conv.title == "Alex Moreau"
    assert texts(conv)[:3] == [
        ("Alex Moreau", "Did you book?"),
        ("Inês Duarte", "Tickets are booked"),
        ("Alex Moreau", "Tickets: https://example.org/t great"),  # entity list flattened
    ]
    assert ("Inês Duarte", "Trains are on strike Monday") in texts(conv)  # forward: forwarder
    assert ("Deleted Account", "hello from a deleted account") in texts(conv)
    assert ("Alex Moreau", "Look at this view") in texts(conv)  # captioned photo kept
    assert texts(conv)[-1] == ("Alex Moreau", "line one\nline two \x07")  # `\x07` escape repaired
    assert dict(report.skipped) == {"system": 2, "media_only": 2}
    assert report.read == 11 and all(m.outgoing is None for m in conv.messages)


def test_telegram_orders_by_unixtime_across_dst():
    conv = load_data(FIX / "telegram" / "result.json").conversations[0]
    stamps = [m.timestamp for m in conv.messages]
    assert stamps == sorted(stamps)


def test_telegram_account_export_marks_owner_and_reads_left_chats():
    result = load_data(FIX / "telegram" / "account" / "result.json")
    by_title = {c.title: c for c in result.conversations}
    assert set(by_title) == {"Alex Moreau", "Saved Messages", "Hiking Club", "Old Group"}
    group = by_title["Hiking Club"]  # old export: integer from_id, naive date
    assert [m.outgoing for m in group.messages] == [False, True, False]
    assert group.messages[0].timestamp == 1588323600.0
    assert [m.outgoing for m in by_title["Alex Moreau"].messages] == [False, True, False]


def test_telegram_truncated_is_a_clear_error(tmp_path):
    text = (FIX / "telegram" / "result.json").read_text(encoding="utf-8")
    path = tmp_path / "result.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ChatcloneError, match=r"result.json, byte \d+: .*truncated or damaged"):
        load_data(path)


def test_messenger_thread_merges_files_repairs_mojibake_and_drops_notices():
    result = load_data(FIX / "messenger")
    by_title = {c.title: c for c in result.conversations}
    renee = by_title["Renée Dubois"]
    assert texts(renee) == [
        ("Renée Dubois", "Salut! Comment ça va?"),
        ("Alex Moreau", "Très bien, merci"),
        ("Alex Moreau", "On se voit à 18h?"),
        ("Renée Dubois", "Ça marche 😀"),
    ]
    assert renee.participants == ("Renée Dubois", "Alex Moreau")
    reports = [r for r in result.reports if "reneedubois" in r.path]
    skipped = sum((r.skipped for r in reports), type(reports[0].skipped)())
    assert dict(skipped) == {"system": 2, "media_only": 2, "deleted": 1}
    group = by_title["Hiking Club"]
    assert texts(group) == [
        ("Alex Moreau", "Who's up for a hike?"),
        ("Jörg Weiß", "Grüße aus München"),
        ("Mia Chen", "Sunday then!"),
    ]
    insta = by_title["Mira"]
    assert insta.platform == "instagram" and texts(insta) == [
        ("Alex Moreau", "thanks 🙂"),
        ("Mira", "nice pic!"),
    ]


def test_messenger_end_to_end_encrypted_download_by_content():
    """Messenger's end-to-end encrypted chats come in their own download, in camelCase."""
    result = load_data(FIX / "messenger_e2ee")
    [conv], [report] = result.conversations, result.reports
    assert (conv.title, conv.participants, conv.platform) == ("Bob", ("Bob", "Me"), "messenger")
    assert texts(conv) == [("Me", "Hi Bob"), ("Bob", "Héllo 👩🏻\u200d⚖️")]
    assert [m.timestamp for m in conv.messages] == [1710000000.0, 1710000300.0]
    assert (report.read, dict(report.skipped)) == (4, {"media_only": 1, "deleted": 1})


def test_instagram_download_from_before_2021_one_messages_json_for_every_chat():
    result = load_data(FIX / "instagram_legacy")
    pair, group = result.conversations
    report = next(r for r in result.reports if r.format == "instagram-legacy")
    assert (pair.title, pair.platform, pair.participants) == (
        "renee_d",
        "instagram",
        ("alex_ig", "renee_d"),
    )
    assert texts(pair) == [("alex_ig", "bye"), ("renee_d", "see you 👩🏻\u200d⚖️")]  # oldest first
    assert [m.outgoing for m in pair.messages] == [True, False]  # profile.json names the owner
    assert pair.messages[1].timestamp == 1559390405.123456
    assert texts(group) == [("sam.k", "happy new year")]
    assert group.messages[0].timestamp == 1577948340.0  # 07:59 at +01:00
    assert (report.read, report.imported) == (7, 3)
    assert dict(report.skipped) == {"media_only": 2, "system": 1, "unparsable": 1}


def test_hangouts_joins_segments_resolves_names_marks_owner():
    result = load_data(FIX / "google" / "Takeout" / "Hangouts" / "Hangouts.json")
    one, group = result.conversations
    assert one.title == "Sam Okoye"
    assert texts(one) == [
        ("Sam Okoye", "Dinner at Rosa & Vine\nhttps://example.org/menu"),
        ("Ana Silva", "Sounds good, 8 o'clock?"),
    ]
    assert [m.outgoing for m in one.messages] == [False, True]
    assert one.messages[0].timestamp == 1500000000.0
    assert group.title == "Book club" and group.messages[0].sender == "Unknown participant 333"
    assert dict(result.reports[0].skipped) == {"media_only": 1, "system": 2}


def test_google_chat_dm_with_narrow_space_dates_and_owner():
    result = load_data(FIX / "google" / "Takeout" / "Google Chat")
    conv, report = result.conversations[0], result.reports[0]
    assert conv.title == "Sam Okoye"
    assert texts(conv) == [
        ("Sam Okoye", "Trays = bring them, it's sunny"),
        ("Ana Silva", "On it <3"),
        ("Sam Okoye", "localised date"),
    ]
    assert [m.outgoing for m in conv.messages] == [False, True, False]
    assert conv.messages[0].timestamp == 1715328902.0
    # `2024. május 10., péntek 17:07:00 UTC`: a Takeout in Hungarian
    assert conv.messages[2].timestamp == 1715360820.0
    assert dict(report.skipped) == {"media_only": 1, "deleted": 1}


def test_discord_nickname_surrogates_system_kinds():
    result = load_data(FIX / "discord")
    conv, report = result.conversations[0], result.reports[0]
    assert conv.title == "quietfox"
    assert texts(conv) == [
        ("Mira", "Bullseye 🎯 – rematch Friday?"),
        ("Ana", "You're on"),
        ("Mira", "see you @Ana"),
    ]
    assert conv.messages[0].timestamp == 1705773851.517
    assert dict(report.skipped) == {"media_only": 1, "system": 3}


def test_whole_fixture_tree_imports_every_source():
    result = load_data(FIX / "google")
    assert {r.format for r in result.reports} == {"hangouts", "google-chat", "other files"}
    [others] = [r for r in result.reports if r.format == "other files"]
    # Google Chat's metadata is read with its messages, not as a chat of its own.
    assert (others.read, dict(others.skipped)) == (2, {"not a chat file": 2})
    assert others.decisions["files"] == (
        "Takeout/Google Chat/Groups/DM abc123/group_info.json, "
        "Takeout/Google Chat/Users/User 111/user_info.json"
    )
