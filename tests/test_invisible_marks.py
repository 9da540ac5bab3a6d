"""ZWJ, ZWNJ and variation selectors are text; only bidi marks and the BOM are dropped, by the
importers and by the cleaning that builds training text."""

from chatclone.data.importers._common import strip_marks
from chatclone.speaker_format import clean_text

JUDGE = "👩🏻\u200d⚖️"  # woman judge: ZWJ and VS16 join three code points into one glyph
PERSIAN = "می\u200cخواهم"  # ZWNJ is part of the spelling
FLAG = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag characters
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def test_strip_marks_keeps_joiners_and_drops_bidi():
    assert strip_marks(f"{BIDI}{JUDGE} {PERSIAN}{BIDI}") == f"{JUDGE} {PERSIAN}"


def test_clean_text_keeps_joiners_selectors_and_tags():
    text = f"\u2067{JUDGE}\u2069 says {PERSIAN} {FLAG}\ufeff\x07"
    assert clean_text(text) == f"{JUDGE} says {PERSIAN} {FLAG}"


def test_clean_text_still_drops_controls_and_bidi():
    assert clean_text("a\u200eb\x07c\u202e\nnext\tline") == "abc next line"
