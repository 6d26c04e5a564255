"""Reading donor text the way a viewer would read it on stream, with a map back to what the donor typed.

Three layers, each pure and cached where it pays:

``fold`` works on single characters: compatibility decomposition (the K of NFKC, which turns fullwidth, circled,
mathematical and other styled letters into plain ones), diacritics dropped (except that и with a breve stays й),
case folded, ё→е, the look-alikes of ``confusables.toml [fold]`` (Greek letters, small capitals) mapped, zero-width
and other invisible format characters removed and control characters turned into spaces. ``FoldedText.origin``
maps every folded character back to the original character it came from, so matches are reported where the donor
wrote them. Plain ASCII and plain Russian text take a fast path with no map at all.

``split_words`` cuts folded text into ``Word``s. Digits and the symbols ``@ $ ! | € £`` count as letters inside a
word ("sh1t", "b@stard"); ``*`` and ``#`` between three or more single letters separate them ("f*u*c*k"), otherwise
they hide letters ("f*ck", "х*й": see ``Word.masked``); an apostrophe between letters stays inside the word
("don't"). ``spaced_letter_runs`` and ``join_spaced_letters`` find and glue back letters the donor separated with
spaces, dots or dashes ("f u c k", "х.у.й"), a letter typed several times counting as one ("ff uu cc kk").

``read_word`` reads one word as Latin and as Cyrillic: look-alike letters of the other script ("cyka", "fuсk" with a
Cyrillic с) and leetspeak ("п1зда", "6ля") are mapped, both readings of an ambiguous digit are kept. ``squeeze``
collapses repeated letters ("fuuuck") while remembering how long each run was, for the lexicon.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from importlib import resources
from typing import Any, NamedTuple

# Word characters: letters and digits plus the symbols that stand for letters in leetspeak (@ $ ! | € £) and those
# that hide letters (* #). One character class is much faster than an alternation; underscores are split off afterwards (they are rare).
_WORD_RE = re.compile(r"[\w@$!|€£*#]+(?:['’][\w@$!|€£*#]+)*")
_UNDERSCORE_FREE_RE = re.compile(r"[^_]+")
_LEADING_PUNCTUATION = "!|*#"
_TRAILING_PUNCTUATION = "!|*#@£"
_MASK_PIECE_RE = re.compile(r"[^*#]+")
_CLOSING_PUNCTUATION = ",.!?;:)]}\"'»…-"
_OPENING_PUNCTUATION = "([{\"'«-"
_APOSTROPHES = str.maketrans("", "", "'’")

_LATIN_RE = re.compile(r"[a-z]")
_CYRILLIC_RE = re.compile(r"[\u0430-\u045f]")
_REPEAT_RE = re.compile(r"(.)\1")
_LONG_REPEAT_RE = re.compile(r"(.)\1{2,}")
_RUN_RE = re.compile(r"(.)\1*")
_NON_WORD_RE = re.compile(r"[\W_]+")

# Characters whose fold is cached; input with more distinct characters than this still folds, just slower.
_CHAR_CACHE_LIMIT = 65_536
_MAX_NORMALISE_PASSES = 32
# Scripts and symbol blocks that fold one character to one character; text made only of these takes the fast path.
_FAST_RANGES = ((0x0000, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x2010, 0x205E), (0x20A0, 0x20BF))


@cache
def _confusables() -> dict[str, Any]:
    text = resources.files("gatekeeper.data").joinpath("confusables.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _table(*mappings: dict[str, str]) -> dict[int, str]:
    merged: dict[int, str] = {}
    for mapping in mappings:
        merged.update({ord(key): value for key, value in mapping.items()})
    return merged


def _is_mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Me")


def _fold_once(text: str, extra: dict[str, str]) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not _is_mark(char)).casefold()
    plain = "".join(char for char in unicodedata.normalize("NFKD", plain) if not _is_mark(char))
    return "".join(" " if char.isspace() else extra.get(char, char) for char in plain)


def _fold_char(char: str) -> str:
    """The folded form of one character: usually one character, sometimes none ("\u200b") or several ("ﬁ")."""
    extra: dict[str, str] = _confusables()["fold"]
    if char in extra:
        return extra[char]
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zs", "Zl", "Zp"):
        return " "
    if category in ("Cf", "Mn", "Me", "Cs", "Co"):
        # Invisible: zero-width spaces and joiners, soft hyphens, direction marks, variation selectors, tags.
        return ""
    if char in "йЙ":
        return "й"
    folded = _fold_once(char, extra)
    # Repeat until stable so that folding folded text changes nothing (casefold can produce new decompositions).
    for _ in range(3):
        again = _fold_once(folded, extra)
        if again == folded:
            break
        folded = again
    return folded


def _fast_path() -> tuple[dict[int, str], re.Pattern[str]]:
    table: dict[int, str] = {}
    safe: list[int] = []
    for first, last in _FAST_RANGES:
        for code in range(first, last + 1):
            char = chr(code)
            folded = _fold_char(char)
            if len(folded) != 1:
                continue
            safe.append(code)
            if folded != char:
                table[code] = folded
    ranges: list[tuple[int, int]] = []
    for code in safe:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    members = "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}" for first, last in ranges
    )
    return table, re.compile(f"[^{members}]")


_FAST_TABLE, _NEEDS_SLOW_PATH = _fast_path()
# Printable ASCII, the Russian alphabet and common typography: lower() and ё→е fold these exactly.
_PLAIN_RUSSIAN_RE = re.compile(
    "[\x20-\x7e\u0410-\u044f\u0401\u0451\u2013\u2014\u00ab\u00bb\u2018\u2019\u201c\u201d]*"
)
_CHAR_CACHE: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Folded text and, for each of its characters, the index of the original character it came from."""

    original: str
    text: str
    origin: tuple[int, ...] | None
    """None when every folded character sits at the same index as its original character."""

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The ``[start, end)`` range of the original text that produced folded characters ``[start, end)``."""
        if self.origin is None:
            return start, end
        if end <= start:
            position = self.origin[start] if start < len(self.origin) else len(self.original)
            return position, position
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> FoldedText:
    """Fold ``text`` character by character for matching (see the module docstring); never raises on any str."""
    if text.isascii() and text.isprintable():
        return FoldedText(text, text.lower(), None)
    if _PLAIN_RUSSIAN_RE.fullmatch(text):
        return FoldedText(text, text.lower().replace("ё", "е"), None)
    if _NEEDS_SLOW_PATH.search(text) is None:
        return FoldedText(text, text.translate(_FAST_TABLE), None)
    characters: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _CHAR_CACHE.get(char)
        if folded is None:
            folded = _fold_char(char)
            if len(_CHAR_CACHE) < _CHAR_CACHE_LIMIT:
                _CHAR_CACHE[char] = folded
        if not folded:
            # A decomposed й (и + combining breve) is still й.
            if char == "\u0306" and characters and characters[-1] == "и":
                characters[-1] = "й"
            continue
        for piece in folded:
            characters.append(piece)
            origin.append(index)
    return FoldedText(text, "".join(characters), tuple(origin))


class Word(NamedTuple):
    """One word of folded text, at ``[start, end)`` of the folded text."""

    text: str
    start: int
    end: int
    spaced: bool = False
    """Joined from letters the donor separated ("f.u.c.k", "х у й"): a deliberate disguise."""
    masked: bool = False
    """Contains ``*`` or ``#`` standing for hidden letters ("f*ck", "бл*ть"); its pieces are separate words too."""


# NamedTuple's generated __new__ is Python code; building the tuple directly is several times faster, and words
# are built by the hundred thousand.
_new_word = partial(tuple.__new__, Word)

_ALPHANUMERIC_RE = re.compile(r"[^\W_]")


def _has_alphanumeric(text: str) -> bool:
    return _ALPHANUMERIC_RE.search(text) is not None


def split_words(text: str) -> list[Word]:
    """The words of folded ``text`` in order; masked words come right before their visible pieces."""
    words: list[Word] = []
    position = 0
    # Whitespace splitting runs in C and most chunks are plain words; only chunks with punctuation go through the
    # regular expression. (Folding turned every kind of whitespace into a plain space.)
    for chunk in text.split():
        start = text.find(chunk, position)
        position = start + len(chunk)
        if chunk.isalnum():
            words.append(_new_word((chunk, start, position, False, False)))
            continue
        bare = chunk.rstrip(_CLOSING_PUNCTUATION).lstrip(_OPENING_PUNCTUATION)
        if bare.isalnum():
            # A word with ordinary punctuation around it ("castle," "(please)").
            bare_start = start + chunk.index(bare)
            words.append(_new_word((bare, bare_start, bare_start + len(bare), False, False)))
            continue
        for match in _WORD_RE.finditer(chunk):
            raw = match.group()
            if "_" in raw:
                for part in _UNDERSCORE_FREE_RE.finditer(raw):
                    _add_word(words, part.group(), start + match.start() + part.start())
            else:
                _add_word(words, raw, start + match.start())
    return words


def _add_word(words: list[Word], raw: str, start: int) -> None:
    """Trim punctuation-like symbols off ``raw`` and add it, unmasking it when ``*`` or ``#`` sit inside."""
    end = start + len(raw)
    trimmed = raw.lstrip(_LEADING_PUNCTUATION)
    start += len(raw) - len(trimmed)
    stripped = trimmed.rstrip(_TRAILING_PUNCTUATION)
    end -= len(trimmed) - len(stripped)
    if not _has_alphanumeric(stripped):
        return
    if "*" not in stripped and "#" not in stripped:
        words.append(Word(stripped, start, end))
        return
    pieces = [piece for piece in _MASK_PIECE_RE.finditer(stripped) if _has_alphanumeric(piece.group())]
    # Three or more single letters between stars are spaced out ("f*u*c*k"); two hide a letter ("х*й").
    if len(pieces) >= 3 and all(len(piece.group()) == 1 for piece in pieces):
        joined = "".join(piece.group() for piece in pieces)
        words.append(Word(joined, start + pieces[0].start(), start + pieces[-1].end(), spaced=True))
        return
    words.append(Word(stripped, start, end, masked=True))
    words.extend(Word(piece.group(), start + piece.start(), start + piece.end()) for piece in pieces)


def spaced_letter_runs(words: Sequence[Word], shortest: int = 3) -> list[tuple[int, int]]:
    """Index ranges ``[first, last)`` of at least ``shortest`` consecutive one-letter words ("f u c k"); a letter
    written several times counts as one ("ff uu cc kk")."""
    runs: list[tuple[int, int]] = []
    first = -1
    for index, word in enumerate(words):
        text = word.text
        if (len(text) == 1 or (text[0] == text[-1] and text == text[0] * len(text))) and not word.masked:
            if first < 0:
                first = index
        elif first >= 0:
            if index - first >= shortest:
                runs.append((first, index))
            first = -1
    if first >= 0 and len(words) - first >= shortest:
        runs.append((first, len(words)))
    return runs


def join_spaced_letters(words: Sequence[Word], runs: Sequence[tuple[int, int]] | None = None) -> list[Word]:
    """``words`` with each run of three or more one-character words glued into one word, masked words left out.

    "k y s" becomes "kys" and "х у й тебе" becomes "хуй", "тебе". Runs are glued whatever separates the letters,
    so a phrase written letter by letter comes out as one word; phrase rules allow words to run together.
    ``runs`` may pass ``spaced_letter_runs(words)`` when the caller already has it.
    """
    if runs is None:
        runs = spaced_letter_runs(words)
    if not runs and not any(word.masked for word in words):
        return list(words)
    joined: list[Word] = []
    position = 0
    for first, last in runs:
        joined.extend(word for word in words[position:first] if not word.masked)
        text = "".join(word.text for word in words[first:last])
        joined.append(Word(text, words[first].start, words[last - 1].end, spaced=True))
        position = last
    joined.extend(word for word in words[position:] if not word.masked)
    return joined


@dataclass(frozen=True, slots=True)
class Reading:
    """How one word reads: as Latin, as Cyrillic, and every spelling worth looking up."""

    latin: str | None
    """The word with Cyrillic look-alikes and leetspeak mapped to Latin, or None if it cannot be English."""
    cyrillic: str | None
    """The word with Latin look-alikes and leetspeak mapped to Cyrillic, or None if it cannot be Russian."""
    spellings: tuple[str, ...]
    """Distinct spellings to look up in the lexicon (including the second reading of ambiguous digits)."""
    mixed_script: bool
    """Latin and Cyrillic letters in one word: a typo, or a disguise."""

    @property
    def main(self) -> str:
        """The reading in the word's own script: Cyrillic when it has more unmistakably Cyrillic letters."""
        return self.spellings[0]


@dataclass(frozen=True, slots=True)
class _Tables:
    latin_only: dict[int, str]
    latin_only_alternative: dict[int, str]
    cyrillic_only: dict[int, str]
    cyrillic_only_alternative: dict[int, str]
    latin_from_mixed: dict[int, str]
    latin_from_mixed_alternative: dict[int, str]
    cyrillic_from_mixed: dict[int, str]
    cyrillic_from_mixed_alternative: dict[int, str]
    latin_from_cyrillic: dict[int, str]
    cyrillic_from_latin: dict[int, str]
    lookalikes_to_latin: dict[int, str]
    ambiguous: re.Pattern[str]
    cyrillic_lookalikes_only: re.Pattern[str]
    latin_lookalikes_only: re.Pattern[str]
    unmistakably_latin: re.Pattern[str]
    unmistakably_cyrillic: re.Pattern[str]


def _character_class(characters: Iterable[str]) -> str:
    return "".join(re.escape(char) for char in sorted(set(characters)))


@cache
def _tables() -> _Tables:
    data = _confusables()
    leet = data["leet"]
    to_cyrillic_strict = data["latin_to_cyrillic"]["strict"]
    to_cyrillic_mixed = data["latin_to_cyrillic"]["mixed"]
    to_latin_strict = data["cyrillic_to_latin"]["strict"]
    to_latin_mixed = data["cyrillic_to_latin"]["mixed"]
    reading = data["cyrillic_reading"]
    latin_leet = leet["latin"]
    latin_leet_alternative = {**latin_leet, **leet["latin_alternative"]}
    cyrillic_leet = leet["cyrillic"]
    cyrillic_leet_alternative = {**cyrillic_leet, **leet["cyrillic_alternative"]}
    ambiguous = set(leet["latin_alternative"]) | set(leet["cyrillic_alternative"])
    leet_characters = set(latin_leet) | set(cyrillic_leet) | set("0123456789")
    return _Tables(
        latin_only=_table(latin_leet),
        latin_only_alternative=_table(latin_leet_alternative),
        cyrillic_only=_table(reading, cyrillic_leet),
        cyrillic_only_alternative=_table(reading, cyrillic_leet_alternative),
        latin_from_mixed=_table(to_latin_strict, to_latin_mixed, latin_leet),
        latin_from_mixed_alternative=_table(to_latin_strict, to_latin_mixed, latin_leet_alternative),
        cyrillic_from_mixed=_table(reading, to_cyrillic_strict, to_cyrillic_mixed, cyrillic_leet),
        cyrillic_from_mixed_alternative=_table(
            reading, to_cyrillic_strict, to_cyrillic_mixed, cyrillic_leet_alternative
        ),
        latin_from_cyrillic=_table(to_latin_strict, latin_leet),
        cyrillic_from_latin=_table(to_cyrillic_strict, cyrillic_leet),
        lookalikes_to_latin=_table(to_latin_strict),
        ambiguous=re.compile(f"[{_character_class(ambiguous)}]"),
        cyrillic_lookalikes_only=re.compile(f"[{_character_class(set(to_latin_strict) | leet_characters)}]+"),
        latin_lookalikes_only=re.compile(f"[{_character_class(set(to_cyrillic_strict) | leet_characters)}]+"),
        unmistakably_latin=re.compile(f"[a-z](?<![{_character_class(to_cyrillic_strict)}])"),
        unmistakably_cyrillic=re.compile(
            f"[\u0430-\u045f](?<![{_character_class(set(to_latin_strict) | set(reading))}])"
        ),
    )


def _spellings(text: str, table: dict[int, str], alternative: dict[int, str], ambiguous: bool) -> list[str]:
    first = text.translate(table)
    if ambiguous:
        second = text.translate(alternative)
        if second != first:
            return [first, second]
    return [first]


@lru_cache(maxsize=131_072)
def read_word(text: str) -> Reading:
    """Read one folded word as Latin and as Cyrillic (see ``Reading``). Apostrophes are dropped ("don't" → dont)."""
    tables = _tables()
    text = text.translate(_APOSTROPHES)
    has_latin = _LATIN_RE.search(text) is not None
    has_cyrillic = _CYRILLIC_RE.search(text) is not None
    ambiguous = tables.ambiguous.search(text) is not None
    latin: list[str] = []
    cyrillic: list[str] = []
    if has_latin and has_cyrillic:
        latin = _spellings(text, tables.latin_from_mixed, tables.latin_from_mixed_alternative, ambiguous)
        cyrillic = _spellings(
            text, tables.cyrillic_from_mixed, tables.cyrillic_from_mixed_alternative, ambiguous
        )
        cyrillic_votes = len(tables.unmistakably_cyrillic.findall(text))
        latin_votes = len(tables.unmistakably_latin.findall(text))
        prefer_cyrillic = cyrillic_votes >= latin_votes
    elif has_cyrillic:
        cyrillic = _spellings(text, tables.cyrillic_only, tables.cyrillic_only_alternative, ambiguous)
        if tables.cyrillic_lookalikes_only.fullmatch(text):
            latin = [text.translate(tables.latin_from_cyrillic)]
        prefer_cyrillic = True
    elif has_latin:
        latin = _spellings(text, tables.latin_only, tables.latin_only_alternative, ambiguous)
        if tables.latin_lookalikes_only.fullmatch(text):
            cyrillic = [text.translate(tables.cyrillic_from_latin)]
        prefer_cyrillic = False
    else:
        # Digits only, or another script: nothing to re-read.
        return Reading(None, None, (text,), mixed_script=False)
    ordered = cyrillic + latin if prefer_cyrillic else latin + cyrillic
    spellings = tuple(dict.fromkeys(ordered))
    return Reading(
        latin=latin[0] if latin else None,
        cyrillic=cyrillic[0] if cyrillic else None,
        spellings=spellings,
        mixed_script=has_latin and has_cyrillic,
    )


def lookalikes_as_latin(text: str) -> str:
    """``text`` with Cyrillic letters that look like Latin ones replaced by those, one character for one character
    (so offsets still hold): "ехаmple.соm" becomes "example.com"."""
    return text.translate(_tables().lookalikes_to_latin)


def readable_copy(folded: str, words: Sequence[Word]) -> str:
    """``folded`` with each word replaced by its main reading wherever that keeps its length, so offsets still hold:
    "ivan соbака mail" (a Latin b in собака) becomes "ivan собака mail"."""
    parts: list[str] = []
    position = 0
    for word in words:
        if word.masked or word.start < position:
            continue
        main = read_word(word.text).main
        if len(main) == word.end - word.start and main != folded[word.start : word.end]:
            parts += (folded[position : word.start], main)
            position = word.end
    parts.append(folded[position:])
    return "".join(parts)


def squeeze(text: str) -> tuple[str, tuple[int, ...] | None]:
    """``text`` with every run of a repeated character collapsed to one, and the run lengths.

    ``squeeze("fuuuck") == ("fuck", (1, 3, 1, 1))``; the lengths are None when nothing repeats, which is the
    common case and costs one regular-expression search.
    """
    if _REPEAT_RE.search(text) is None:
        return text, None
    letters: list[str] = []
    runs: list[int] = []
    for match in _RUN_RE.finditer(text):
        letters.append(match.group(1))
        runs.append(match.end() - match.start())
    return "".join(letters), tuple(runs)


def stream_form(text: str) -> str:
    """A reading as phrase rules see it: symbols left over removed. Repeated letters stay; phrase patterns let every
    letter repeat instead, so that words run together keep the letters they share."""
    return _NON_WORD_RE.sub("", text)


def _readable_form(text: str) -> str:
    """A reading for people: runs of three or more cut to one ("fuuuck" → "fuck", "hello" stays)."""
    return _NON_WORD_RE.sub("", _LONG_REPEAT_RE.sub(r"\1", text))


_STREAM_FORMS: dict[str, tuple[str, str]] = {}


def stream_forms(text: str) -> tuple[str, str]:
    """A word's Latin and Cyrillic stream forms, for English and Russian phrase rules (its main reading where the
    word cannot be read in that script)."""
    # A plain dict: this runs for every word of every text, and lru_cache's bookkeeping costs more than the lookup.
    forms = _STREAM_FORMS.get(text)
    if forms is None:
        reading = read_word(text)
        latin = stream_form(reading.latin if reading.latin is not None else reading.main)
        cyrillic = stream_form(reading.cyrillic if reading.cyrillic is not None else reading.main)
        forms = (latin, cyrillic)
        if len(_STREAM_FORMS) >= _CHAR_CACHE_LIMIT * 2:
            _STREAM_FORMS.clear()
        _STREAM_FORMS[text] = forms
    return forms


def _normalise_once(text: str) -> str:
    words = join_spaced_letters(split_words(fold(text).text))
    forms = (_readable_form(read_word(word.text).main) for word in words)
    return " ".join(form for form in forms if form)


def normalise(text: str) -> str:
    """The text as the rules read it: folded, spaced letters glued, each word in its main reading, runs of three or
    more repeated letters cut to one (the rules themselves also cut doubled letters: "hello" is "helo" to them).

    Idempotent: ``normalise(normalise(t)) == normalise(t)`` for every string. One pass can leave work for a second
    (squeezing "aaa" to "a" can make a new run of single letters), so passes repeat until nothing changes; each pass
    only shortens words or merges them, so this ends quickly.
    """
    current = _normalise_once(text)
    for _ in range(_MAX_NORMALISE_PASSES):
        again = _normalise_once(current)
        if again == current:
            break
        current = again
    return current
