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


def test_sniff_needs_a_header():
    assert IMPORTER.sniff(FIX / "WhatsApp Chat with Tom.txt")
    assert not IMPORTER.sniff(Path(__file__))


def test_folder_of_several_chats_imports_all(tmp_path):
    for name in ("WhatsApp Chat with Tom.txt", "WhatsApp Chat with Kim.txt"):
        shutil.copy(FIX / name, tmp_path / name)
    result = load_data(tmp_path)
    assert sorted(c.title for c in result.conversations) == ["Kim", "Tom"]
