import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.data.importers.whatsapp import IMPORTER, chat_title
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures" / "whatsapp"


def load(name):
    result = load_data(FIX / name)
    return result.conversations[0], result.reports[0]


def texts(conv):
    return [(m.sender, m.text) for m in conv.messages]


def test_us_android_12h_narrow_space_month_first_from_whole_file():
    conv, report = load("WhatsApp Chat with Priya Raman.txt")
    # The first dates (3/4, 3/5) fit both orders; only 3/15 further down decides.
    assert report.decisions["date order"].startswith("month/day/year")
    assert conv.title == "Priya Raman" and conv.id == "whatsapp:Priya Raman"
    assert texts(conv)[:3] == [
        ("Priya Raman", "Morning! Are we still on for Saturday?"),
        ("Sam Okafor", "Yes! Note: bring the ladder"),  # ": " inside the text stays text
        (
            "Priya Raman",
            "Reminder: bins go out tonight\nAlso the blue one\nSun 12/03: kickoff\nDoors open 18:45",
        ),
    ]
    assert texts(conv)[3] == ("Sam Okafor", "Got it")  # edited marker dropped
    # 12:05 AM is 00:05 on March 5th (2023).
    assert conv.messages[2].timestamp == 1677974700.0
    assert dict(report.skipped) == {"system": 1, "media_only": 1, "deleted": 2}


def test_every_line_is_accounted_for():
    for path in FIX.rglob("*.txt"):
        report = load_data(path).reports[0]
        assert (
            report.read == report.imported + sum(report.skipped.values()) + report.continuation
        ), path


def test_german_dots_24h_placeholders_and_attached_file_caption():
    conv, report = load("WhatsApp Chat mit Lukas Brandt.txt")
    assert conv.title == "Lukas Brandt"
    assert texts(conv) == [
        ("Anna Weber", "Guten Morgen!"),
        ("Lukas Brandt", "Bis 14.5. dann\nBis 14.5. dann wirklich"),
        ("Lukas Brandt", "Schau mal, der Hafen"),
        ("Anna Weber", "Schön!"),
    ]
    assert dict(report.skipped) == {"system": 1, "media_only": 1, "deleted": 2}


def test_spanish_am_pm_with_nbsp():
    conv, report = load("WhatsApp Chat with Lucía.txt")
    assert [m.timestamp for m in conv.messages] == [1644829500.0, 1644829620.0, 1644870660.0]
    assert report.skipped["media_only"] == 1 and report.skipped["deleted"] == 1


def test_crlf_phone_number_sender_and_attachment_without_caption():
    conv, report = load("WhatsApp Chat with Tom.txt")
    assert texts(conv) == [
        ("+44 7700 900456", "Who has the key?"),
        ("Tom", "I do"),
        ("+44 7700 900456", "the door"),
    ]
    assert report.skipped["media_only"] == 1


def test_year_first_and_lowercase_pm():
    conv, report = load("WhatsApp Chat with Kim.txt")
    assert report.decisions["date order"].startswith("year/month/day")
    assert conv.messages[0].timestamp == 1548857100.0  # 2019-01-30 14:05
    assert conv.messages[2].timestamp == 1548892800.0  # 12:00 am -> midnight of the 31st


def test_order_from_increasing_dates_when_no_day_above_12():
    conv, report = load("WhatsApp Chat with Ola.txt")
    assert report.decisions["date order"] == (
        "day/month/year (the dates only run forwards when read day first)"
    )
    assert conv.messages[2].timestamp - conv.messages[0].timestamp == 20 * 86400


@pytest.mark.parametrize(
    "dates, order, first",
    [
        (("1/2/21", "1/3/21", "1/4/21"), "month/day/year", "2021-01-02"),
        (("2/1/21", "3/1/21", "4/1/21"), "day/month/year", "2021-01-02"),
    ],
)
def test_order_from_smaller_steps_when_both_orders_run_forwards(tmp_path, dates, order, first):
    path = tmp_path / "WhatsApp Chat with Bo.txt"
    path.write_text(
        "".join(f"{d}, 9:41\u202fPM - Bo: hi {i}\n" for i, d in enumerate(dates)), encoding="utf-8"
    )
    [conv] = IMPORTER.load(path).conversations
    report = IMPORTER.load(path).reports[0]
    assert report.decisions["date order"] == (
        f"{order} (the dates move in smaller steps when read {order.split('/')[0]} first)"
    )
    day = dt.datetime.fromtimestamp(conv.messages[0].timestamp, dt.timezone.utc)
    assert day.strftime("%Y-%m-%d") == first
    assert conv.messages[2].timestamp - conv.messages[0].timestamp == 2 * 86400


def test_ios_zip_group_with_marks_system_lines_and_tilde_sender(tmp_path):
    archive = tmp_path / "WhatsApp Chat - Hiking Club.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIX / "WhatsApp Chat - Hiking Club" / "_chat.txt", "_chat.txt")
        z.writestr("00000015-PHOTO-2021-06-15-07-01-00.jpg", b"\xff\xd8")
    result = load_data(archive)
    conv, report = result.conversations[0], result.reports[0]
    assert conv.title == "Hiking Club"
    assert conv.participants == ("Dana Fischer", "Mei", "Owen Price")  # group; `~ Mei` is Mei
    assert texts(conv)[0] == ("Dana Fischer", "Welcome all!\nRoute: ridge trail")
    assert texts(conv)[2] == ("Owen Price", "Saturday 8:00 at the car park")
    assert dict(report.skipped) == {"system": 3, "media_only": 2, "deleted": 1}
    assert report.path == f"{archive}!/_chat.txt"


def test_lines_before_the_first_header_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_text("garbage line\n\n1/2/20, 10:00 - X: hi\n1/2/20, 10:01 - Y: yo\n")
    report = load_data(path, "whatsapp").reports[0]
    assert report.unparsable == [(1, "garbage line")]
    assert report.skipped == {"unparsable": 1, "empty": 1}


def test_bad_time_is_counted_with_its_line(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_text("1/2/20, 10:00 - X: hi\n1/2/20, 25:01 - Y: yo\n")
    report = load_data(path).reports[0]
    assert report.imported == 1 and report.unparsable == [(2, "1/2/20 25:01")]


def test_utf16_export_is_read(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_text("1/2/20, 10:00 - X: hé\n", encoding="utf-16")
    assert load_data(path).conversations[0].messages[0].text == "hé"


def test_latin1_export_is_a_clear_error_with_line(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_bytes("1/2/20, 10:00 - X: hi\n1/2/20, 10:01 - X: h\xe9\n".encode("latin-1"))
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value) == (
        f"{path}, line 2: not UTF-8 text (byte 0xe9). Chat exports are UTF-8; convert the file "
        "first, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`."
    )


def test_title_from_file_or_zip_name():
    assert chat_title(Path("WhatsApp Chat with Maya.txt")) == "Maya"
    assert chat_title(Path("WhatsApp Chat mit Maya.txt")) == "Maya"
    assert chat_title(Path("x/WhatsApp Chat - Maya/_chat.txt")) == "Maya"


def test_ios_chat_file_given_by_a_bare_name_is_titled_by_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "WhatsApp Chat - Dana Fischer"
    folder.mkdir()
    (folder / "_chat.txt").write_text("[14/06/2021, 19:21:01] Owen Price: hey\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    [conv] = IMPORTER.load(Path("_chat.txt")).conversations
    assert (conv.title, conv.id) == ("Dana Fischer", "whatsapp:Dana Fischer")


def test_sniff_needs_a_header():
    assert IMPORTER.sniff(FIX / "WhatsApp Chat with Tom.txt")
    assert not IMPORTER.sniff(Path(__file__))


def test_folder_of_several_chats_imports_all(tmp_path):
    for name in ("WhatsApp Chat with Tom.txt", "WhatsApp Chat with Kim.txt"):
        shutil.copy(FIX / name, tmp_path / name)
    result = load_data(tmp_path)
    assert sorted(c.title for c in result.conversations) == ["Kim", "Tom"]


def chat(tmp_path, text, name="WhatsApp Chat with X.txt", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    result = load_data(path, "whatsapp")
    conv = result.conversations[0] if result.conversations else None
    return conv, result.reports[0]


def test_zwj_zwnj_and_variation_selectors_are_kept(tmp_path):
    judge, persian = "👩🏻\u200d⚖️", "می\u200cخواهم"
    conv, _ = chat(tmp_path, f"1/2/20, 10:00 - Ana\u200d: \u200e{judge} {persian}\u2069\n")
    assert texts(conv) == [("Ana\u200d", f"{judge} {persian}")]


@pytest.mark.parametrize(
    "notice",
    [
        "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
        "WhatsApp, can read or listen to them. Tap to learn more.",
        "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Tippe, um mehr zu erfahren.",
        "Les messages et les appels sont chiffrés de bout en bout.",
        "Viestit ja puhelut ovat päästä päähän salattuja.",
        "Your security code with Chat Name changed. Tap to learn more.",
        "Missed voice call",
        "This message was deleted",
    ],
)
def test_notice_attributed_to_a_sender_without_mark_is_a_system_line(tmp_path, notice):
    conv, report = chat(tmp_path, f"1/2/20, 10:00 - Chat Name: {notice}\n1/2/20, 10:01 - Y: hi\n")
    assert texts(conv) == [("Y", "hi")]
    assert report.skipped["system"] + report.skipped["deleted"] == 1


def test_group_notices_attributed_to_the_group_are_dropped_whatever_their_marks(tmp_path):
    lines = [
        "Dana Fischer created group “Hiking Club”",
        "Dana Fischer added Owen Price",
        "Owen Price left",
        "Dana Fischer changed the subject from “Hiking” to “Hiking Club”",
        "Dana Fischer changed this group's icon",
    ]
    text = "".join(f"[14/06/2021, 19:2{i}:00] Hiking Club: {s}\n" for i, s in enumerate(lines))
    text += "[14/06/2021, 19:30:00] Owen Price: Owen Price left his boots in the car\n"
    conv, report = chat(tmp_path, text, "WhatsApp Chat - Hiking Club.txt")
    assert texts(conv) == [("Owen Price", "Owen Price left his boots in the car")]
    assert report.skipped["system"] == 5


def test_membership_words_typed_by_a_person_stay_text(tmp_path):
    conv, _ = chat(tmp_path, "1/2/20, 10:00 - Ana: Tom left\n1/2/20, 10:01 - Tom: Ana added salt\n")
    assert texts(conv) == [("Ana", "Tom left"), ("Tom", "Ana added salt")]


def test_header_ending_at_the_colon_takes_its_text_from_the_next_lines(tmp_path):
    text = "17/02/2020, 07:16 - Tom:\nfirst line\nsecond line\n17/02/2020, 07:17 - Kim: ok\n"
    conv, report = chat(tmp_path, text)
    assert texts(conv) == [("Tom", "first line\nsecond line"), ("Kim", "ok")]
    assert report.continuation == 2 and not report.skipped


@pytest.mark.parametrize(
    "first, second, stamp",
    [
        ("13.6.2018 klo 21.25.15 - A: hi", "14.6.2018 klo 9.05.00 - B: yo", 1528925115.0),
        ("13.06.18 21.25.15: A: hi", "14.06.18 09.05.00: B: yo", 1528925115.0),
        ("13. 6. 2018. 21:25:15 A: hi", "14. 6. 2018. 9:05:00 B: yo", 1528925115.0),
        ("[06/2018/13, 21:25:15] A: hi", "[06/2018/14, 09:05:00] B: yo", 1528925115.0),
        ("13/6/2018 um 21:25 - A: hi", "14/6/2018 um 9:05 - B: yo", 1528925100.0),
        ("6/13/18, 9:25 nachm. - A: hi", "6/14/18, 9:05 vorm. - B: yo", 1528925100.0),
    ],
)
def test_header_variants(tmp_path, first, second, stamp):
    conv, report = chat(tmp_path, f"{first}\nmore\n{second}\n")
    assert texts(conv) == [("A", "hi\nmore"), ("B", "yo")]
    assert conv.messages[0].timestamp == stamp
    assert conv.messages[1].timestamp == 1528967100.0  # 14 June 2018, 09:05


def test_line_looking_like_another_variant_stays_in_its_message(tmp_path):
    text = (
        "[17.9.2019, 10:00:00] A: quoting an old chat:\n"
        "[1.9.19, 00:00:00] B: this is quoted\n"
        "18.9.2019, 10:00 - C: so is this\n"
        "[17.9.2019, 10:01:00] B: right\n"
    )
    conv, report = chat(tmp_path, text)
    assert [m.sender for m in conv.messages] == ["A", "B"]
    assert conv.messages[0].text.count("\n") == 2 and report.continuation == 2


@pytest.mark.parametrize(
    "body",
    [
        "Diagram.graphml (file attached)",
        "My notes v2.markdown (Datei angehängt)",
        "Rapport final.docx (fichier joint)",
        "<attached: 00000012-PHOTO-2020-06-14-19-22-10.jpg>",
        "\u200e<attached: 00000013-Diagram.graphml>",
    ],
)
def test_attachments_with_any_extension_are_media(tmp_path, body):
    conv, report = chat(tmp_path, f"1/2/20, 10:00 - A: {body}\n1/2/20, 10:01 - B: ok\n")
    assert texts(conv) == [("B", "ok")] and report.skipped["media_only"] == 1


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_old_mac_and_windows_line_ends(tmp_path, newline):
    text = "1/2/20, 10:00 - A: one\ntwo\n1/2/20, 10:01 - B: three\n"
    conv, report = chat(tmp_path, text, newline=newline)
    assert texts(conv) == [("A", "one\ntwo"), ("B", "three")]
    assert report.read == 3


def test_mixed_line_ends(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_bytes(b"1/2/20, 10:00 - A: one\r\n1/2/20, 10:01 - B: two\r1/2/20, 10:02 - A: 3\n")
    conv = load_data(path).conversations[0]
    assert texts(conv) == [("A", "one"), ("B", "two"), ("A", "3")]


@pytest.mark.parametrize(
    "first",
    ["13.6.2018 klo 21.25.15 - A: hi", "13. 6. 2018. 21:25:15 A: hi", "13.06.18 21.25.15: A: hi"],
)
def test_new_variants_are_detected_without_format(tmp_path, first):
    path = tmp_path / "WhatsApp Chat with A.txt"
    path.write_text(f"{first}\n")
    assert IMPORTER.sniff(path) and load_data(path).reports[0].format == "whatsapp"


def test_a_bare_header_lookalike_inside_other_text_is_not_whatsapp(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Meeting notes\n13.6.2018 10:00 Bob: bring slides\nthanks\n")
    assert not IMPORTER.sniff(path)


@pytest.mark.parametrize(
    "dates, order",
    [
        (["2019-30-01", "2019-31-01"], "year/day/month"),  # %Y-%d-%m
        (["30/2019/01", "31/2019/01"], "day/year/month"),
        (["01/2019/30", "02/2019/01"], "month/year/day"),
    ],
)
def test_year_first_or_middle_orders(tmp_path, dates, order):
    text = "".join(f"{d}, 10:0{i} - A: m{i}\n" for i, d in enumerate(dates))
    conv, report = chat(tmp_path, text)
    assert report.decisions["date order"].startswith(order)
    assert len(conv.messages) == 2


def test_finnish_export_dotted_times_notices_and_split_header():
    conv, report = load("WhatsApp Chat with Aino.txt")
    assert texts(conv) == [
        ("Aino", "Moi! Nähdäänkö huomenna?"),
        ("Eero Virtanen", "Joo, klo 18 käy\n[1.9.19, 00:00:00] Aino: tämä on lainaus"),
        ("Aino", "Huomenta 👩🏻\u200d⚖️"),
    ]
    assert conv.messages[0].timestamp == 1528925162.0  # 13 June 2018, 21:26:02
    assert dict(report.skipped) == {"system": 2, "media_only": 2, "deleted": 1}


@pytest.mark.parametrize(
    "lines, decision",
    [
        # Korean and Chinese put the 12 h marker before the time
        (
            ["2023. 3. 14. 오후 9:41 - 김민준: 안녕하세요", "2023. 3. 15. 오전 10:05 - 이서연: 네"],
            {},
        ),
        (["2023/3/14 下午9:41 - 王伟: 你好", "2023/3/15 上午10:05 - 李娜: 你好啊"], {}),
        # Arabic: Arabic-Indic digits, a direction mark by each separator, the Arabic comma
        (
            [
                "\u200f١٤\u200f/٣\u200f/٢٠٢٣، ٩:٤١ م - أحمد: مرحبا",
                "\u200f١٥\u200f/٣\u200f/٢٠٢٣، ١٠:٠٥ ص - سارة: أهلا",
            ],
            {},
        ),
        # Thai: years of the Buddhist era
        (
            ["14/3/2566 21:41 - สมชาย: สวัสดี", "15/3/2566 10:05 - สมหญิง: สวัสดีค่ะ"],
            {"era": "Buddhist era years (Thai): 2566 read as 2023"},
        ),
    ],
)
def test_exports_in_more_locales(tmp_path, lines, decision):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = IMPORTER.load(path)
    [conv], [report] = result.conversations, result.reports
    assert [m.text for m in conv.messages] == [line.rsplit(": ", 1)[1] for line in lines]
    when = [dt.datetime.fromtimestamp(m.timestamp, dt.timezone.utc) for m in conv.messages]
    assert [w.strftime("%Y-%m-%d %H:%M") for w in when] == ["2023-03-14 21:41", "2023-03-15 10:05"]
    assert {k: v for k, v in report.decisions.items() if k != "date order"} == decision


def test_years_of_another_calendar_are_said_to_be_read_as_gregorian(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.write_text("۱۴۰۲/۱۲/۲۳, ۲۱:۴۱ - علی: سلام\n", encoding="utf-8")
    [report] = IMPORTER.load(path).reports
    assert report.decisions["calendar"] == (
        "years such as 1402 read as Gregorian years: if the phone showed another calendar "
        "(Persian, Hijri) the dates are off, the pauses between messages are not"
    )
