"""Rules beyond single words: phrases (``data/phrases.toml``), links and contact details (``data/detectors.toml``)
and floods; plus ``Rule`` and ``Finding``, which every kind of rule produces.

Phrases are matched against a ``WordStream``: the donor's words in one reading (Latin for English rules, Cyrillic for
Russian ones) joined by single spaces, each word remembering where it sits in the folded text so a match is reported
where the donor typed it. When compiled, a phrase's spaces become optional (words run together still match) and
each of its letters may repeat ("kiiill", "wwiill"). Each word of a stream tries only the phrases that can start with
it, found by reading the first letters of every pattern once (see ``leading_keys``), so the cost per word does not
grow with the number of phrases. Words glued from spaced-out letters are searched inside as well, because their own
word breaks are lost.

Detectors search the folded text itself, because links and numbers live in punctuation, and again in copies where
look-alike letters are read as Latin or as each word reads, so "ехаmple.соm" is a link. Cheap tests of what a
detector needs (a digit, an @, a dot) skip most of them for most texts.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from ovation_contracts import Category, Decision

from .normalise import Word, read_word, squeeze, stream_forms


class RulesError(ValueError):
    """A rules data file is malformed; the message names the file, the rule and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of a data file: what it flags and how strongly."""

    category: Category
    name: str
    """The entry as written in its data file (``Span.rule``)."""
    mild: bool = False
    """Borderline on its own: downgrades at most and asks for a second opinion."""
    decision: Decision | None = None
    """Overrides the category's default decision; None keeps the default."""
    label: str = ""
    """What a moderator reads in the verdict's reason ("a threat to kill or hurt", "fuck"); ``name`` when empty."""

    @property
    def readable(self) -> str:
        """The label, or the name when there is no label."""
        return self.label or self.name


class Finding(NamedTuple):
    """A rule that matched ``[start, end)`` of the folded text."""

    rule: Rule
    start: int
    end: int
    uncertain: bool = False
    """The match itself is partial (a masked word, letters that only loosely join), whatever the rule's weight."""


def load_data(name: str) -> dict[str, Any]:
    """A TOML data file of ``gatekeeper/data``, parsed."""
    text = resources.files("gatekeeper.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _category(value: object, where: str) -> Category:
    try:
        return Category(str(value))
    except ValueError:
        known = ", ".join(category.value for category in Category)
        raise RulesError(f"{where}: unknown category {value!r}; use one of {known}") from None


def _decision(value: object, where: str) -> Decision | None:
    if value is None:
        return None
    if value not in (Decision.BLOCK.value, Decision.DOWNGRADE.value):
        raise RulesError(f"{where}: decision must be 'block' or 'downgrade', not {value!r}")
    return Decision(str(value))


def group_rule_settings(group: dict[str, Any], where: str) -> tuple[Category, bool, Decision | None]:
    """The category, mildness and decision override of a ``[[group]]`` in lexicon.toml or phrases.toml."""
    category = _category(group.get("category"), where)
    mild = group.get("mild", False)
    if not isinstance(mild, bool):
        raise RulesError(f"{where}: mild must be true or false")
    return category, mild, _decision(group.get("decision"), where)


# ---------------------------------------------------------------------------------------------------------- phrases


class WordStream(NamedTuple):
    """Words in one reading joined by single spaces, remembering which donor word each one came from."""

    text: str
    forms: tuple[str, ...]
    """The words of ``text``, in order."""
    source: Sequence[Word]
    """The donor's words, for their place in the folded text."""
    kept: tuple[int, ...] | None
    """Which of ``source`` each form came from; None when every word has a form (the usual case)."""
    spaced: bool
    """Some word was glued from spaced-out letters, so a phrase may start or end inside it."""

    @classmethod
    def of(cls, words: Sequence[Word], cyrillic: bool) -> WordStream:
        """The stream of ``words`` read as Cyrillic (``cyrillic=True``) or as Latin, each word in its main reading
        where it has no reading in that script."""
        which = 1 if cyrillic else 0
        forms = [stream_forms(word.text)[which] for word in words]
        kept: tuple[int, ...] | None = None
        if not all(forms):
            kept = tuple(index for index, form in enumerate(forms) if form)
            forms = [form for form in forms if form]
        return cls(" ".join(forms), tuple(forms), words, kept, any(word.spaced for word in words))

    def is_spaced(self, number: int) -> bool:
        """Whether form ``number`` was glued from spaced-out letters."""
        return self.source[number if self.kept is None else self.kept[number]].spaced

    def word_span(self, first: int, last: int) -> tuple[int, int]:
        """The folded-text span from the start of form ``first`` to the end of form ``last``."""
        if self.kept is not None:
            first, last = self.kept[first], self.kept[last]
        return self.source[first].start, self.source[last].end


def _optional_spaces(pattern: str) -> str:
    """``pattern`` with each literal space made optional, except inside character classes and look-behinds
    (which must keep a fixed width)."""
    out: list[str] = []
    groups: list[bool] = []  # True for a look-behind group
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            groups.append(pattern.startswith(("(?<!", "(?<="), index))
        elif char == ")" and groups:
            groups.pop()
        elif char == " " and not any(groups):
            out.append(" ?")
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


_CAPTURING_GROUP_RE = re.compile(r"(?<!\\)\((?!\?)")
_DOUBLED_LETTER_RE = re.compile(r"(?<!\\)([^\W\d_])\1+")


def _squeezed_pattern(pattern: str) -> str:
    """``pattern`` with doubled letters written once ("kill" → "kil"), the form its keys are read from."""
    return _DOUBLED_LETTER_RE.sub(r"\1", pattern)


def _repeatable_letters(pattern: str) -> str:
    """``pattern`` with every literal letter allowed to repeat ("kil" → "k+i+l+"), so "wwiill" and "kiiill" match,
    and so do words run together that share a letter ("should" + "die" glued is "shoulddie"). Letters inside
    character classes and look-behinds, escaped ones and ones already quantified are left alone."""
    out: list[str] = []
    groups: list[bool] = []  # True for a look-behind group
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        out.append(char)
        index += 1
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            behind = pattern.startswith(("?<!", "?<="), index)
            groups.append(behind)
            if pattern.startswith("?", index):
                # Copy the group's flag ("?:", "?<!", "?P<name>") without touching its letters.
                end = (
                    pattern.index(">", index) + 1
                    if pattern.startswith("?P<", index)
                    else index + (3 if behind else 2)
                )
                out.append(pattern[index:end])
                index = end
        elif char == ")" and groups:
            groups.pop()
        elif char.isalpha() and not any(groups) and pattern[index : index + 1] not in ("?", "*", "+", "{"):
            out.append("+")
    return "".join(out)


# ---------------------------------------------------------------- where a phrase can start
# Each word of a stream only tries the phrases that can start with it. The keys come from reading the pattern's
# beginning: its literal letters, up to three. A key that ends where the pattern has a space (or ends) must be the
# whole word and is written with a trailing space ("i " for "i will ..."); a key of three letters, or one cut short by
# a non-literal such as \w, is a beginning ("изн" for "изнасил\w*"). A pattern that can start with anything else
# has no keys and is tried at every word.

_KEY_LENGTH = 3
_CANDIDATE_CACHE_LIMIT = 100_000
# How many words before a glued word a phrase ending inside it may start.
_GLUED_REACH = 6
# How far into a glued word phrases are looked for.
_LONGEST_GLUED = 64


class _Unknown(Exception):
    """The pattern's beginning is not plain enough to read keys from."""


def _split_alternatives(source: str) -> list[str]:
    alternatives: list[str] = []
    depth = 0
    in_class = False
    current = 0
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            alternatives.append(source[current:index])
            current = index + 1
        index += 1
    alternatives.append(source[current:])
    return alternatives


def _group_end(source: str, start: int) -> int:
    """Index just past the parenthesis closing the group that opens at ``start``."""
    depth = 0
    in_class = False
    index = start
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise _Unknown


def _quantifier(source: str, index: int) -> tuple[bool, bool, int]:
    """Whether the element before ``index`` may be absent, whether it may repeat, and where the quantifier ends."""
    if index < len(source) and source[index] in "?*+":
        optional = source[index] != "+"
        repeats = source[index] != "?"
        index += 1
        if index < len(source) and source[index] == "?":
            index += 1
        return optional, repeats, index
    if index < len(source) and source[index] == "{":
        close = source.index("}", index)
        bounds = source[index + 1 : close].split(",")
        optional = bounds[0].strip() in ("", "0")
        repeats = len(bounds) > 1 or bounds[0].strip() not in ("0", "1")
        return optional, repeats, close + 1
    return False, False, index


def _starts(source: str, prefix: str = "") -> set[str]:
    """Every key (up to ``_KEY_LENGTH`` letters) a match of ``source`` can begin with, after ``prefix``."""
    if len(prefix) == _KEY_LENGTH:
        return {prefix}
    keys: set[str] = set()
    for alternative in _split_alternatives(source):
        keys |= _sequence_starts(alternative, prefix)
    return keys


def _sequence_starts(source: str, prefix: str) -> set[str]:
    index = 0
    while index < len(source):
        if len(prefix) == _KEY_LENGTH:
            return {prefix}
        char = source[index]
        if char in "^$":
            index += 1
            continue
        if char == " ":
            # Words in a stream hold no spaces, so the word ends here (the space itself may be absent: two keys).
            optional, _, after = _quantifier(source, index + 1)
            ended = {prefix + " "} if prefix else _starts(source[after:])
            return ended | (_sequence_starts(source[after:], prefix) if optional else set())
        if char == "(":
            end = _group_end(source, index)
            body = source[index + 1 : end - 1]
            if body.startswith(("?<!", "?<=", "?!", "?=")):
                index = end
                continue
            if body.startswith("?:"):
                body = body[2:]
            elif body.startswith("?P<"):
                body = body[body.index(">") + 1 :]
            elif body.startswith("?"):
                raise _Unknown
            optional, repeats, after = _quantifier(source, end)
            if repeats:
                raise _Unknown
            keys: set[str] = set()
            for alternative in _split_alternatives(body):
                keys |= _sequence_starts(alternative + source[after:], prefix)
            if optional:
                keys |= _sequence_starts(source[after:], prefix)
            return keys
        if char == "\\" and index + 1 < len(source) and not source[index + 1].isalnum():
            char, width = source[index + 1], 2
        elif char.isalnum() and char != "_":
            width = 1
        else:
            if prefix:
                return {prefix}
            raise _Unknown
        optional, repeats, after = _quantifier(source, index + width)
        if repeats:
            # "x+" may be "xx": the key can only be a beginning that ends with the first x.
            present = {prefix + char}
            return present | _sequence_starts(source[after:], prefix) if optional else present
        if optional:
            once = source[index : index + width] + source[after:]
            return _sequence_starts(once, prefix) | _sequence_starts(source[after:], prefix)
        prefix += char
        index = after if after > index + width else index + width
    return {prefix + " "} if prefix else set()


def leading_keys(pattern: str) -> frozenset[str] | None:
    """The keys a phrase can start with (see above), or None when it could start with anything."""
    try:
        keys = _starts(pattern)
    except (_Unknown, ValueError):
        return None
    if not keys or "" in keys:
        return None
    return frozenset(keys)


@dataclass(frozen=True)
class _PhraseSet:
    """Phrases of one reading, each compiled alone and indexed by the letters it can start with."""

    entries: tuple[tuple[str, Rule], ...]
    patterns: tuple[re.Pattern[str], ...] = field(init=False)
    loose_patterns: tuple[re.Pattern[str], ...] = field(init=False)
    """The same patterns without the closing word boundary, for phrases that end inside a glued word."""
    by_word: dict[str, tuple[int, ...]] = field(init=False)
    by_beginning: dict[str, tuple[int, ...]] = field(init=False)
    anywhere: tuple[int, ...] = field(init=False)
    beginning_lengths: tuple[int, ...] = field(init=False)
    candidate_cache: dict[str, tuple[int, ...]] = field(init=False, default_factory=dict)
    """Per word form, the phrases that may start there."""

    def __post_init__(self) -> None:
        patterns: list[re.Pattern[str]] = []
        by_key: dict[str, list[int]] = {}
        anywhere: list[int] = []
        for index, (source, _) in enumerate(self.entries):
            patterns.append(re.compile(f"(?:{_repeatable_letters(source)})(?!\\w)"))
            keys = leading_keys(source)
            if keys is None:
                anywhere.append(index)
                continue
            for key in keys:
                by_key.setdefault(key, []).append(index)
        object.__setattr__(self, "patterns", tuple(patterns))
        object.__setattr__(
            self,
            "loose_patterns",
            tuple(re.compile(_repeatable_letters(source)) for source, _ in self.entries),
        )
        words = {key[:-1]: tuple(value) for key, value in by_key.items() if key.endswith(" ")}
        beginnings = {key: tuple(value) for key, value in by_key.items() if not key.endswith(" ")}
        object.__setattr__(self, "by_word", words)
        object.__setattr__(self, "by_beginning", beginnings)
        object.__setattr__(self, "anywhere", tuple(anywhere))
        # Beginnings shorter than three letters are rare; remember which lengths exist so lookups stay few.
        object.__setattr__(self, "beginning_lengths", tuple(sorted({len(key) for key in beginnings})))

    def candidates(self, form: str) -> tuple[int, ...]:
        """The phrases that may start at a word written ``form`` (keys are squeezed, so the form is too)."""
        form = squeeze(form)[0]
        found = self.by_word.get(form, ())
        for length in self.beginning_lengths:
            found += self.by_beginning.get(form[:length], ())
        return self.anywhere + found

    def candidates_inside(self, rest: str) -> tuple[int, ...]:
        """The phrases that may start at a place inside a glued word, whose own word breaks are unknown."""
        rest = squeeze(rest)[0]
        found = self.anywhere
        for length in range(1, _KEY_LENGTH + 1):
            found += self.by_word.get(rest[:length], ()) + self.by_beginning.get(rest[:length], ())
        return tuple(dict.fromkeys(found))

    def scan(self, stream: WordStream) -> list[Finding]:
        findings: list[Finding] = []
        cache = self.candidate_cache
        patterns = self.patterns
        text = stream.text
        position = 0
        for number, form in enumerate(stream.forms):
            candidates = cache.get(form)
            if candidates is None:
                candidates = self.candidates(form)
                if len(cache) >= _CANDIDATE_CACHE_LIMIT:
                    cache.clear()
                cache[form] = candidates
            for index in candidates:
                match = patterns[index].match(text, position)
                if match is not None:
                    last = number + text.count(" ", position, match.end())
                    findings.append(Finding(self.entries[index][1], *stream.word_span(number, last)))
            position += len(form) + 1
        if stream.spaced:
            findings += self._scan_glued(stream)
        return findings

    def _scan_glued(self, stream: WordStream) -> list[Finding]:
        """Phrases that start or end inside a word glued from spaced-out letters ("покончу с с о б о й с е г о д н я"
        glues to "покончу ссобойсегодня"): try every place inside such words, and accept an end inside one."""
        findings: list[Finding] = []
        text = stream.text
        glued = [False] * len(text)
        positions: list[int] = []
        spaced: list[bool] = []
        position = 0
        for number, form in enumerate(stream.forms):
            positions.append(position)
            spaced.append(stream.is_spaced(number))
            if spaced[-1]:
                glued[position : position + len(form)] = [True] * len(form)
            position += len(form) + 1
        starts: list[tuple[int, int]] = []
        for number, form in enumerate(stream.forms):
            if spaced[number]:
                # Long glued runs are floods the engine reports itself; only their beginning is read here.
                starts += [
                    (number, positions[number] + offset) for offset in range(min(len(form), _LONGEST_GLUED))
                ]
            elif any(spaced[number + 1 : number + 1 + _GLUED_REACH]):
                # An ordinary word shortly before a glued one may start a phrase that ends inside it.
                starts.append((number, positions[number]))
        for number, start in starts:
            inside = start > 0 and text[start - 1] != " "
            candidates = self.candidates_inside(text[start : start + 2 * _KEY_LENGTH])
            for index in candidates:
                match = self.loose_patterns[index].match(text, start)
                if match is None:
                    continue
                end = match.end()
                if end < len(text) and text[end] != " " and not glued[end]:
                    continue
                if not inside and (end == len(text) or text[end] == " "):
                    continue  # an ordinary match, already found
                last = number + text.count(" ", start, end)
                findings.append(Finding(self.entries[index][1], *stream.word_span(number, last)))
        return findings


@dataclass(frozen=True)
class _TextPhraseSet:
    """Phrases matched on the folded text (punctuation kept), compiled into one pattern: there are only a few, and
    each group names in ``requires`` what a text must hold for its patterns to be worth running."""

    entries: tuple[tuple[str, Rule], ...]
    requires: re.Pattern[str] | None
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        # Inner groups are made non-capturing so ``lastgroup`` names the alternative that matched.
        alternatives = "|".join(
            f"(?P<r{index}>{_CAPTURING_GROUP_RE.sub('(?:', source)})"
            for index, (source, _) in enumerate(self.entries)
        )
        object.__setattr__(self, "pattern", re.compile(alternatives))

    def scan(self, texts: Sequence[str]) -> list[Finding]:
        findings: list[Finding] = []
        for text in texts:
            if self.requires is not None and self.requires.search(text) is None:
                continue
            for match in self.pattern.finditer(text):
                name = match.lastgroup
                assert name is not None
                findings.append(Finding(self.entries[int(name[1:])][1], *match.span()))
        return findings


@dataclass(frozen=True)
class PhraseBook:
    """Every phrase rule, compiled per reading."""

    latin: _PhraseSet | None
    cyrillic: _PhraseSet | None
    text: _TextPhraseSet | None

    @classmethod
    def build(
        cls, phrases: Iterable[tuple[str, str, Rule]], text_requires: Sequence[str | None] = ()
    ) -> PhraseBook:
        """Compile ``(reading, pattern, rule)`` triples; reading is "en", "ru" or "text". ``text_requires`` lists
        what text must hold for the "text" patterns to run (None: always run them)."""
        by_reading: dict[str, list[tuple[str, Rule]]] = {"en": [], "ru": [], "text": []}
        for reading, pattern, rule in phrases:
            source = pattern if reading == "text" else _optional_spaces(_squeezed_pattern(pattern))
            try:
                re.compile(source)
            except re.error as error:
                raise RulesError(
                    f"phrases: pattern {pattern!r} is not a valid regular expression: {error}"
                ) from None
            by_reading[reading].append((source, rule))
        return cls(
            latin=_PhraseSet(tuple(by_reading["en"])) if by_reading["en"] else None,
            cyrillic=_PhraseSet(tuple(by_reading["ru"])) if by_reading["ru"] else None,
            text=_TextPhraseSet(tuple(by_reading["text"]), _requirement(text_requires))
            if by_reading["text"]
            else None,
        )

    def scan(
        self, latin: WordStream | None, cyrillic: WordStream | None, folded: str, copies: Sequence[str] = ()
    ) -> list[Finding]:
        """Every phrase match, as findings on the folded text; a stream may be None when the text has no letter of
        its script (English phrases need Latin letters, Russian ones Cyrillic letters). Text patterns also search
        ``copies`` (see ``Detectors.scan``)."""
        findings: list[Finding] = []
        if self.latin is not None and latin is not None and latin.text:
            findings += self.latin.scan(latin)
        if self.cyrillic is not None and cyrillic is not None and cyrillic.text:
            findings += self.cyrillic.scan(cyrillic)
        if self.text is not None:
            findings += self.text.scan((folded, *copies))
        return findings


def _requirement(requires: Sequence[str | None]) -> re.Pattern[str] | None:
    if not requires or any(item is None for item in requires):
        return None
    return re.compile("|".join(f"(?:{item})" for item in requires if item is not None))


def load_phrases(data: dict[str, Any] | None = None) -> list[tuple[str, str, Rule]]:
    """The ``(reading, pattern, rule)`` triples of phrases.toml (or of ``data`` parsed the same way)."""
    data = load_data("phrases.toml") if data is None else data
    phrases: list[tuple[str, str, Rule]] = []
    for number, group in enumerate(data.get("group", ()), start=1):
        where = f"phrases.toml group {number}"
        category, mild, decision = group_rule_settings(group, where)
        reading = "text" if group.get("on") == "text" else group.get("language")
        if reading not in ("en", "ru", "text"):
            raise RulesError(f"{where}: language must be 'en' or 'ru' (or on = 'text')")
        name = group.get("name")
        if not isinstance(name, str) or not name:
            raise RulesError(
                f"{where}: every group needs a name, which moderators read in the verdict's reason"
            )
        for pattern in group.get("patterns", ()):
            rule = Rule(category, f"{name}: {pattern}"[:200], mild, decision, label=name)
            phrases.append((reading, pattern, rule))
    return phrases


# ---------------------------------------------------------------------------------------------------------- detectors

_CARD_FIRST_DIGITS = "23456"


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum that every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card(text: str) -> bool:
    """13 to 19 digits starting like a card network's numbers and passing the Luhn checksum."""
    digits = "".join(char for char in text if char.isdigit())
    return 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits)


_US_GROUPING_RE = re.compile(r"\(?\d{3}\)?[\s.\-]*\d{3}[\s.\-]+\d{4}")


def looks_like_phone(text: str) -> bool:
    """An international, Russian or 3-3-4 grouped phone number (see detectors.toml)."""
    digits = "".join(char for char in text if char.isdigit())
    count = len(digits)
    if text.lstrip().startswith("+"):
        return 10 <= count <= 15
    if count == 11 and digits[0] in "78":
        return True
    if count == 10 and digits[0] == "9":
        return True
    return count == 10 and _US_GROUPING_RE.fullmatch(text.strip()) is not None


_CHECKS: dict[str, Callable[[str], bool]] = {"card": looks_like_card, "phone": looks_like_phone}


@dataclass(frozen=True)
class Detector:
    """One detector of detectors.toml, compiled."""

    rule: Rule
    pattern: re.Pattern[str]
    homoglyphs: bool
    check: Callable[[str], bool] | None
    requires: re.Pattern[str] | None
    needs: tuple[str, ...] = ()
    """Text of which one must occur ("0-9": any digit); empty when the detector always runs."""

    def worth_running(self, text: str, has_digit: bool) -> bool:
        """Whether ``text`` holds what this detector needs, checked in the cheapest way first."""
        if self.needs:
            for need in self.needs:
                if has_digit if need == "0-9" else need in text:
                    break
            else:
                return False
        return self.requires is None or self.requires.search(text) is not None


@dataclass(frozen=True)
class Floods:
    """Thresholds of the flood checks (detectors.toml ``[flood]``)."""

    same_character: int
    repeated_chunk: int
    capitals_minimum_letters: int
    capitals_share: float
    repeated_word: int
    repeated_word_share: float
    same_character_pattern: re.Pattern[str] = field(init=False)
    repeated_chunk_pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "same_character_pattern", re.compile(rf"(\S)\1{{{self.same_character - 1},}}")
        )
        object.__setattr__(
            self, "repeated_chunk_pattern", re.compile(rf"(\S{{2,5}}?)\1{{{self.repeated_chunk - 1},}}")
        )


_FLOOD_CHARACTER = Rule(Category.SPAM, "flood: one character repeated", mild=True)
_FLOOD_CHUNK = Rule(Category.SPAM, "flood: a chunk repeated", mild=True)
_FLOOD_CAPITALS = Rule(Category.SPAM, "flood: capitals", mild=True)
_FLOOD_WORD = Rule(Category.SPAM, "flood: one word repeated", mild=True)
_UPPER_RE = re.compile(r"[A-ZА-ЯЁ]")
# Text that is mostly capitals has a run of several; most text has none, which is cheaper to find than to count.
_CAPITALS_RUN_RE = re.compile(r"[A-ZА-ЯЁ]{4}")
_LETTER_RE = re.compile(r"[A-Za-zА-Яа-яЁё]")


@dataclass(frozen=True)
class Detectors:
    """Links, contact details and floods."""

    detectors: tuple[Detector, ...]
    floods: Floods

    def scan(
        self,
        original: str,
        folded: str,
        words: Sequence[Word],
        copies: Sequence[str] = (),
        mixed_scripts: bool = False,
    ) -> list[Finding]:
        """Findings on the folded text; ``original`` is needed for capitals, ``words`` for repeated words.

        ``copies`` are the folded text with look-alike letters read differently (same length, so offsets hold):
        detectors marked ``homoglyphs`` search them too, and floods are counted on the first. ``mixed_scripts``
        says the text has Latin and Cyrillic letters, so repeated words may differ only by look-alikes.
        """
        findings: list[Finding] = []
        has_digit = _DIGIT_RE.search(folded) is not None
        # Most texts hold nothing any detector needs; a few substring tests say so.
        if has_digit or _may_hold_link(folded) or any(_may_hold_link(copy) for copy in copies):
            findings += self._detect(folded, copies, has_digit)
        findings.extend(self._floods(original, copies[0] if copies else folded, words, mixed_scripts))
        return findings

    def _detect(self, folded: str, copies: Sequence[str], has_digit: bool) -> list[Finding]:
        findings: list[Finding] = []
        for detector in self.detectors:
            seen: set[tuple[int, int]] = set()
            for text in (folded, *copies) if detector.homoglyphs else (folded,):
                if not detector.worth_running(text, has_digit):
                    continue
                for match in detector.pattern.finditer(text):
                    if match.span() in seen or (
                        detector.check is not None and not detector.check(match.group())
                    ):
                        continue
                    seen.add(match.span())
                    findings.append(Finding(detector.rule, *match.span()))
        return findings

    def _floods(
        self, original: str, folded: str, words: Sequence[Word], mixed_scripts: bool = False
    ) -> list[Finding]:
        floods = self.floods
        findings: list[Finding] = []
        # A flood of one character or one chunk sits inside one run of non-space characters; most texts have none
        # long enough, which one split finds faster than the patterns would.
        longest = max(map(len, folded.split()), default=0)
        if longest >= floods.same_character:
            match = floods.same_character_pattern.search(folded)
            if match is not None:
                findings.append(Finding(_FLOOD_CHARACTER, *match.span()))
        if longest >= 2 * floods.repeated_chunk:
            match = floods.repeated_chunk_pattern.search(folded)
            if match is not None:
                findings.append(Finding(_FLOOD_CHUNK, *match.span()))
        if len(original) >= floods.capitals_minimum_letters and _CAPITALS_RUN_RE.search(original):
            letters = len(_LETTER_RE.findall(original))
            if letters >= floods.capitals_minimum_letters:
                capitals = len(_UPPER_RE.findall(original))
                if capitals >= floods.capitals_share * letters:
                    findings.append(Finding(_FLOOD_CAPITALS, 0, len(folded)))
        # The most repeated word occurs at most (words - distinct words + 1) times; count only when that can reach
        # the threshold. In mixed-script text words are compared as read, so "spam" and "spаm" are one word.
        if len(words) >= floods.repeated_word:
            mains = (
                [read_word(word.text).main for word in words]
                if mixed_scripts
                else [word.text for word in words]
            )
            if len(mains) - len(set(mains)) + 1 < floods.repeated_word:
                return findings
            main, count = Counter(mains).most_common(1)[0]
            if count >= floods.repeated_word and count >= floods.repeated_word_share * len(words):
                first = mains.index(main)
                last = len(mains) - 1 - mains[::-1].index(main)
                findings.append(Finding(_FLOOD_WORD, words[first].start, words[last].end))
        return findings


_CYRILLIC_RE = re.compile(r"[\u0430-\u045f]")
_DIGIT_RE = re.compile(r"\d")
_SPELLED_SIGNS = ("@", ".", "/", "dot", "d0t", "точк", "тчк", "собак")
_AT_WORD_RE = re.compile(r"(?<!\w)(?:at|эт)(?!\w)")


def _may_hold_link(folded: str) -> bool:
    """Whether ``folded`` holds what a detector other than the digit ones needs: an @, a dot or slash, or a
    spelled-out dot or at. Substring tests run in C and settle most texts without a regular expression."""
    for sign in _SPELLED_SIGNS:
        if sign in folded:
            return True
    return ("at" in folded or "эт" in folded) and _AT_WORD_RE.search(folded) is not None


def _has_cyrillic(text: str) -> bool:
    return _CYRILLIC_RE.search(text) is not None


def load_detectors(data: dict[str, Any] | None = None) -> Detectors:
    """Compile detectors.toml (or ``data`` parsed the same way)."""
    data = load_data("detectors.toml") if data is None else data
    lists = {"tlds": "|".join(data.get("tlds", ())), "spoken_tlds": "|".join(data.get("spoken_tlds", ()))}
    detectors: list[Detector] = []
    for number, entry in enumerate(data.get("detector", ()), start=1):
        where = f"detectors.toml detector {number} ({entry.get('name', 'unnamed')})"
        source = str(entry.get("pattern", ""))
        for placeholder, value in lists.items():
            source = source.replace("{" + placeholder + "}", value)
        try:
            pattern = re.compile(source)
            requires = re.compile(str(entry["requires"])) if "requires" in entry else None
        except re.error as error:
            raise RulesError(f"{where}: pattern is not a valid regular expression: {error}") from None
        check_name = entry.get("check")
        if check_name is not None and check_name not in _CHECKS:
            raise RulesError(f"{where}: unknown check {check_name!r}; use one of {', '.join(_CHECKS)}")
        rule = Rule(
            _category(entry.get("category"), where),
            str(entry.get("name", source))[:200],
            mild=bool(entry.get("mild", False)),
            decision=_decision(entry.get("decision"), where),
        )
        detectors.append(
            Detector(
                rule,
                pattern,
                bool(entry.get("homoglyphs", False)),
                _CHECKS.get(check_name or ""),
                requires,
                tuple(str(need) for need in entry.get("needs", ())),
            )
        )
    flood = data.get("flood", {})
    floods = Floods(
        same_character=int(flood.get("same_character", 15)),
        repeated_chunk=int(flood.get("repeated_chunk", 8)),
        capitals_minimum_letters=int(flood.get("capitals_minimum_letters", 25)),
        capitals_share=float(flood.get("capitals_share", 0.9)),
        repeated_word=int(flood.get("repeated_word", 6)),
        repeated_word_share=float(flood.get("repeated_word_share", 0.5)),
    )
    return Detectors(tuple(detectors), floods)


def text_requirements(data: dict[str, Any] | None = None) -> list[str | None]:
    """The ``requires`` of each on = "text" group of phrases.toml (None for a group without one)."""
    data = load_data("phrases.toml") if data is None else data
    return [group.get("requires") for group in data.get("group", ()) if group.get("on") == "text"]


@cache
def default_phrase_book() -> PhraseBook:
    """The phrase rules shipped with Ovation, compiled once per process."""
    return PhraseBook.build(load_phrases(), text_requirements())


@cache
def default_detectors() -> Detectors:
    """The detectors shipped with Ovation, compiled once per process."""
    return load_detectors()
