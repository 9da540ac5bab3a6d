"""Dates written out in the export's language (Google Chat Takeouts in other languages)."""

import datetime as dt

import pytest

from chatclone.data.importers.localdates import local_time

WHEN = dt.datetime(2015, 2, 15, 21, 54, 36, tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize(
    "text",
    [
        "2015. február 15., vasárnap 21:54:36 UTC",  # Hungarian, as the format reference shows
        "2015. febr. 15., V 9:54:36 du. UTC",  # abbreviated, Hungarian "PM"
        "dimanche 15 février 2015 à 21:54:36 UTC",
        "Sonntag, 15. Februar 2015 um 21:54:36 UTC",
        "domingo, 15 de febrero de 2015, 9:54:36 p. m. UTC",
        "воскресенье, 15 февраля 2015 г. 21:54:36 UTC",  # the month in the genitive
        "niedziela, 15 lutego 2015 21:54:36 UTC",
        "2015年2月15日日曜日 21:54:36 UTC",
        "2015년 2월 15일 일요일 오후 9:54:36 UTC",
    ],
)
def test_a_date_in_any_language_is_read(text):
    assert local_time(text) == WHEN


@pytest.mark.parametrize(
    "text",
    [
        "Sunday 15 2015 21:54:36 UTC",  # no month
        "15 16 février 2015 21:54:36",  # two days
        "15 février 2014 2015 21:54:36",  # two years
        "31 février 2015 21:54:36",  # no such date
        "février 2015",  # no time
        "nonsense 12:00",
    ],
)
def test_a_date_that_does_not_say_one_thing_is_none(text):
    assert local_time(text) is None


def test_a_24_hour_clock_is_not_moved_by_a_word_that_looks_like_am():
    # Hungarian "de." is its AM marker; 21 h stays 21 h whatever the words say.
    assert local_time("2015. február 15., vasárnap de. 21:54:36 UTC") == WHEN
