"""Folding text of any script to comparable lower-case ASCII words."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Letters anyascii would otherwise keep apart from what people type for them.
_PRE = str.maketrans({"ı": "i", "İ": "I", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE"})


def _is_symbol(ch: str) -> bool:
    # Emoji, dingbats, variation selectors, joiners: anyascii would spell them out as words.
    return unicodedata.category(ch) in ("So", "Sk", "Sm", "Sc", "Cf", "Co") or (
        "\ufe00" <= ch <= "\ufe0f"
    )


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """'  GARCÍA-López, José ' -> 'garcia lopez jose'; 'محمد' -> 'mhmd'; 'Олена' -> 'olena'.

    Case, accents, punctuation and script are dropped; words are separated by one space.
    Apostrophes vanish inside words (O'Brien -> obrien, l'hmd -> lhmd) instead of splitting them.
    """
    text = unicodedata.normalize("NFKC", text).translate(_PRE)
    text = "".join(" " if _is_symbol(ch) else ch for ch in text)
    ascii_text = anyascii(text).lower().replace("'", "").replace("`", "")
    return _NON_ALNUM.sub(" ", ascii_text).strip()


def words(text: str) -> list[str]:
    """The folded words of text."""
    folded = fold(text)
    return folded.split() if folded else []
