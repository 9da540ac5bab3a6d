from collections import Counter

import pytest

from chatclone.data.filters import Filters, apply_filters
from chatclone.data.people import resolve_owners
from chatclone.data.records import Conversation, Message
from chatclone.data.sessions import count_sessions, session_cuts
from chatclone.errors import ChatcloneError
from chatclone.inputs import parse_day


def conv(cid, senders, times=None, outgoing=None):
    times = times or [float(i * 60) for i in range(len(senders))]
    return Conversation(
        cid,
        tuple(
            Message(s, f"m{i}", t, outgoing and s == outgoing)
            for i, (s, t) in enumerate(zip(senders, times))
        ),
        title=cid,
    )


def test_owner_inferred_as_the_one_in_every_conversation():
    convs = [conv("a", ["Ana", "Bo"]), conv("b", ["Cy", "Ana"]), conv("c", ["Ana", "Di", "Ed"])]
    owners = resolve_owners(convs)
    assert owners.names == {"a": {"Ana"}, "b": {"Ana"}, "c": {"Ana"}}
    assert owners.how == "inferred: Ana takes part in all 3 conversation(s)"


def test_ambiguous_owner_fails_listing_candidates():
    with pytest.raises(ChatcloneError) as err:
        resolve_owners([conv("Friends", ["Ana", "Bo"])])
    assert str(err.value) == (
        "cannot tell whose voice to learn: Ana, Bo all take part in every conversation (Friends). "
        'Pass --me NAME, e.g. --me "Ana".'
    )


def test_one_to_one_chat_named_after_the_other_person():
    owners = resolve_owners([conv("Bo", ["Ana", "Bo"])])
    assert owners.names == {"Bo": {"Ana"}}
    assert owners.how == (
        "inferred: Ana takes part in all 1 conversation(s) and is not the one "
        "the chat is named after"
    )


def test_nobody_everywhere_fails_with_most_frequent():
    with pytest.raises(
        ChatcloneError, match="nobody takes part in every conversation; most frequent: Ana, Bo, Cy"
    ):
        resolve_owners(
            [conv("a", ["Ana", "Bo"]), conv("b", ["Ana", "Cy"]), conv("c", ["Bo", "Di"])]
        )


def test_not_strict_leaves_candidates():
    owners = resolve_owners([conv("Friends", ["Ana", "Bo"])], strict=False)
    assert owners.names == {} and owners.candidates == ["Ana", "Bo"]


def test_me_per_platform_case_insensitive_and_export_marks():
    convs = [
        conv("wa", ["ana silva", "Bo"]),
        conv("tg", ["Ana S.", "Cy"]),
        conv("hangouts", ["Me Myself", "Di"], outgoing="Me Myself"),
    ]
    owners = resolve_owners(convs, me=["Ana Silva", "ana s."])
    assert owners.names == {"wa": {"ana silva"}, "tg": {"Ana S."}, "hangouts": {"Me Myself"}}


def test_me_matching_nobody():
    with pytest.raises(
        ChatcloneError, match=r"--me Zed: no such participant. Most frequent participants: Ana \(2"
    ):
        resolve_owners([conv("a", ["Ana", "Bo"]), conv("b", ["Ana", "Cy"])], me=["Zed"])


def test_sessions_split_at_gap():
    hour = 3600.0
    c = conv("a", ["A", "B", "A", "B", "A"], [0, 60, 7 * hour, 7 * hour + 60, 30 * hour])
    assert session_cuts(c.messages, 6) == [0, 2, 4]  # sessions of 2, 2 and 1 messages
    assert count_sessions(c, 6) == 3 and count_sessions(c, 0) == 1
    assert session_cuts(c.messages, 0) == [0] and session_cuts(c.messages, 48) == [0]


def test_filters_count_what_they_remove():
    day = 86400.0
    convs = [
        conv("Family", ["Ana", "Dad"], [0, day]),
        conv("Work", ["Ana", "Boss"]),
        conv("Club", ["Ana", "Cy"], [10 * day, 11 * day]),
    ]
    removed = Counter()
    kept = apply_filters(convs, Filters(conversations=("fam", "club")), removed)
    assert [c.id for c in kept] == ["Family", "Club"] and removed == {"conversation filter": 1}
    removed = Counter()
    kept = apply_filters(convs, Filters(participants=("boss",)), removed)
    assert [c.id for c in kept] == ["Work"]
    removed = Counter()
    kept = apply_filters(
        convs,
        Filters(
            since=parse_day("1970-01-02", "--since"),
            until=parse_day("1970-01-11", "--until", end=True),
        ),
        removed,
    )
    assert [(c.id, len(c.messages)) for c in kept] == [("Family", 1), ("Club", 1)]
    assert removed == {"messages outside the date range": 4, "date filter": 1}


def test_bad_date_option():
    with pytest.raises(ChatcloneError) as err:
        parse_day("05/03/2021", "--since")
    assert (
        str(err.value)
        == "--since '05/03/2021': write the date as YYYY-MM-DD, e.g. --since 2023-01-31"
    )


def test_nobody_in_every_chat_suggests_participant_too():
    with pytest.raises(ChatcloneError) as err:
        resolve_owners([conv("Group", ["Ana", "Bo"]), conv("Channel", ["Cy", "Dee"])])
    assert str(err.value) == (
        "cannot tell whose voice to learn: nobody takes part in every conversation; most "
        'frequent: Ana, Bo, Cy, Dee. Pass --me NAME, e.g. --me "Ana", or keep only the chats '
        'they take part in: --participant "Ana".'
    )
