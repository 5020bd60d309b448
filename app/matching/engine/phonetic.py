"""Language-general sound codes for folded name tokens.

Two codes per token, both computed after fold() (so any script arrives as ASCII):
- phon: spelling-insensitive but vowel-aware. Merges b/v/w, s/z/soft c, k/hard c/q, j/soft g/h,
  ll/y/i, ph/f, th/t, sh/s, doubled letters, silent h, and Japanese long-vowel romanizations
  (Satō, Satou, Satoh, Sato). Every vowel run becomes one 'a', so Mohammed, Muhammad and
  Mohamed agree.
- skeleton: phon without its vowels (first letter kept), for text written without vowels
  (Arabic script folds to consonants only: محمد -> mhmd) and for blocking.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LONG_VOWELS = [
    (re.compile(r"(?<=[a-z])(ou|oh|oo)(?=[^aeiou]|$)"), "o"),
    (re.compile(r"uu"), "u"),
    (re.compile(r"aa"), "a"),
    (re.compile(r"ii"), "i"),
    (re.compile(r"ee"), "e"),
]
_RULES = [
    ("sch", "s"),
    ("tch", "x"),
    ("ch", "x"),
    ("sh", "s"),
    ("ph", "f"),
    ("th", "t"),
    ("gh", "g"),
    ("kh", "k"),
    ("dj", "j"),
    ("ck", "k"),
    ("qu", "k"),
    ("q", "k"),
    ("ll", "i"),
    ("x", "ks"),
    ("z", "s"),
    ("v", "b"),
    ("w", "b"),
    ("y", "i"),
]
_SOFT_C = re.compile(r"c(?=[eiy])")
_SOFT_G = re.compile(r"g(?=[ei])")
_VOWEL_RUN = re.compile(r"[aeiou]+")
_REPEAT = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def phon(token: str) -> str:
    """The vowel-aware sound code of a folded token ('' for an empty one)."""
    s = token
    for pattern, replacement in _LONG_VOWELS:
        s = pattern.sub(replacement, s)
    s = _SOFT_C.sub("s", s)
    s = _SOFT_G.sub("j", s)
    for old, new in _RULES:
        s = s.replace(old, new)
    s = s.replace("c", "k").replace("j", "h").replace("h", "")
    s = _REPEAT.sub(r"\1", s)
    s = _VOWEL_RUN.sub("a", s)
    return s


@lru_cache(maxsize=200_000)
def skeleton(token: str) -> str:
    """The consonants of phon(token), keeping a leading vowel as 'a'."""
    code = phon(token)
    if not code:
        return ""
    head, tail = code[0], code[1:].replace("a", "")
    return _REPEAT.sub(r"\1", head + tail)
