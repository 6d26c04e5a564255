"""The lexicon: words and word roots that flag a single word, from ``data/lexicon.toml``, and the innocent words of
``data/exceptions.txt`` that no term may flag.

A term is one of (see the header of lexicon.toml): a whole ``word``; a ``root*`` with any ending; a
``root{a|b|}`` with one of the listed endings; an ``*infix*`` anywhere in a word. Groups may list Russian
prefixes their roots follow ("за" + "еб*"). Matching works on squeezed spellings (repeated letters collapsed), with
the rule that a letter doubled in a term must be at least doubled in the word, so "fuuuck" is fuck but "as" is
not ass. Lookups are dictionary hits keyed by whole words and by word beginnings, so their cost does not grow with
the size of the lexicon.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from ovation_contracts import Category

from .normalise import fold, read_word, split_words, squeeze
from .rules import Rule, RulesError, group_rule_settings, load_data

TermKind = Literal["word", "root", "infix"]

_TERM_RE = re.compile(r"(?P<infix>\*)?(?P<root>[^*{}]+)(?:(?P<any>\*)|\{(?P<endings>[^{}]*)\})?")
_DOUBLE_LETTER_RE = re.compile(r"([^\W\d_])\1+")
_MASK_RUN_RE = re.compile(r"[*#]+")
_MINIMUM_ROOT = 2


class LexiconError(RulesError):
    """A lexicon term is malformed; the message names the term and what to change."""


@dataclass(frozen=True, slots=True)
class Term:
    """One compiled lexicon entry (a term written with prefixes compiles to one ``Term`` per prefix)."""

    rule: Rule
    kind: TermKind
    key: str
    """The squeezed spelling a word (``word``), a word's beginning (``root``) or a part of it (``infix``) must equal."""
    runs: tuple[int, ...] | None
    """How many times each letter of ``key`` is written in the term; None when no letter is doubled."""
    ending: re.Pattern[str] | None = None
    """For roots with listed endings: what the rest of the squeezed word must be."""


def _repeatable(piece: str) -> str:
    """A visible piece of a masked word as a pattern in which each letter may be repeated ("ffuu" → "f+u+")."""
    return "".join(re.escape(char) + "+" for char in squeeze(piece)[0])


def _runs_fit(needed: tuple[int, ...] | None, have: tuple[int, ...] | None, offset: int) -> bool:
    if needed is None:
        return True
    if have is None:
        return False
    return all(have[offset + index] >= count for index, count in enumerate(needed))


def _spelling(text: str, where: str) -> str:
    """A term's text read the way donor words are read, so "sh1t" in a data file means shit."""
    folded = fold(text).text.strip()
    words = split_words(folded)
    if len(words) != 1 or words[0].text != folded or words[0].masked:
        raise LexiconError(f"{where}: {text!r} must be one word of letters (phrases belong in phrases.toml)")
    reading = read_word(folded)
    if reading.mixed_script:
        raise LexiconError(f"{where}: {text!r} mixes Latin and Cyrillic letters; retype it in one alphabet")
    return reading.main


def _top_level_alternatives(source: str) -> list[str]:
    alternatives: list[str] = []
    depth = 0
    current: list[str] = []
    for char in source:
        if char == "|" and depth == 0:
            alternatives.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current.append(char)
    alternatives.append("".join(current))
    return alternatives


def _ending_pattern(endings: str, root: str, where: str) -> re.Pattern[str]:
    source = _DOUBLE_LETTER_RE.sub(r"\1", fold(endings).text)
    # Words are matched squeezed, so an ending that starts with the root's last letter ("slut" + "ty") meets the
    # word's remainder without that letter ("sluty" is "slut" + "y").
    alternatives = [
        alternative[1:] if alternative[:1].isalpha() and alternative[:1] == root[-1:] else alternative
        for alternative in _top_level_alternatives(source)
    ]
    try:
        return re.compile(f"(?:{'|'.join(alternatives)})")
    except re.error as error:
        raise LexiconError(
            f"{where}: endings {{{endings}}} are not a valid regular expression: {error}"
        ) from None


def parse_term(
    text: str, rule: Rule, prefixes: Sequence[str] = (), where: str = "lexicon.toml"
) -> tuple[list[Term], list[str]]:
    """Compile one term as written in lexicon.toml; also return the full forms it names, for masked words."""
    match = _TERM_RE.fullmatch(text.strip())
    if match is None:
        raise LexiconError(f"{where}: {text!r} is not a term; write word, root*, root{{a|b}} or *infix*")
    infix = match.group("infix") is not None
    if infix and match.group("any") is None:
        raise LexiconError(f"{where}: {text!r} starts with * so must end with * (an infix is *root*)")
    where = f"{where}, term {text!r}"
    root = _spelling(match.group("root"), where)
    if len(squeeze(root)[0]) < _MINIMUM_ROOT:
        raise LexiconError(f"{where}: a root needs at least {_MINIMUM_ROOT} different letters")
    endings = match.group("endings")
    ending = _ending_pattern(endings, root, where) if endings is not None else None
    kind: TermKind = "infix" if infix else ("root" if match.group("any") is not None or ending else "word")
    if kind == "infix" and prefixes:
        raise LexiconError(
            f"{where}: an infix already matches anywhere in a word; remove the group's prefixes"
        )
    forms = [root]
    if endings is not None:
        forms += [root + alternative for alternative in endings.split("|") if alternative.isalpha()]
    terms: list[Term] = []
    for prefix in ("", *dict.fromkeys(prefixes)):
        spelled = _spelling(prefix, where) + root if prefix else root
        key, runs = squeeze(spelled)
        terms.append(Term(rule, kind, key, runs, ending))
    return terms, forms


class Lexicon:
    """Compiled terms and exceptions, never changed once built (``with_exceptions`` returns a new lexicon)."""

    def __init__(self, terms: Iterable[Term], exceptions: Iterable[str], masked_forms: Iterable[str]) -> None:
        self._words: dict[str, list[Term]] = {}
        self._roots: dict[str, list[Term]] = {}
        infixes: list[Term] = []
        for term in terms:
            if term.kind == "word":
                self._words.setdefault(term.key, []).append(term)
            elif term.kind == "root":
                self._roots.setdefault(term.key, []).append(term)
            else:
                infixes.append(term)
        self._root_lengths = sorted({len(key) for key in self._roots})
        self._root_heads = frozenset(key[:_MINIMUM_ROOT] for key in self._roots)
        self._infixes: dict[str, list[Term]] = {}
        for term in infixes:
            self._infixes.setdefault(term.key, []).append(term)
        self._infix_pattern = (
            re.compile("|".join(re.escape(key) for key in sorted(self._infixes, key=len, reverse=True)))
            if self._infixes
            else None
        )
        self._exception_list = list(exceptions)
        self._exceptions = frozenset(self._exception_list) | {
            squeeze(word)[0] for word in self._exception_list
        }
        self._masked_form_list = list(dict.fromkeys(masked_forms))
        self._masked: dict[str, tuple[Term, ...]] = {}
        for form in self._masked_form_list:
            found = self.match(form)
            if found:
                self._masked.setdefault(form, found)
        self._masked_blob = "\n".join(self._masked)

    def entries(self) -> Iterator[tuple[str, list[Term]]]:
        """Every key with its terms: whole words, roots and infixes."""
        yield from self._words.items()
        yield from self._roots.items()
        yield from self._infixes.items()

    def with_exceptions(self, exceptions: Iterable[str]) -> Lexicon:
        """This lexicon with more innocent words; shares the compiled terms, so it costs next to nothing."""
        extra = list(exceptions)
        derived = copy.copy(self)
        derived._exception_list = [*self._exception_list, *extra]
        derived._exceptions = self._exceptions | frozenset(extra) | {squeeze(word)[0] for word in extra}
        return derived

    def match(self, spelling: str) -> tuple[Term, ...]:
        """Every term one spelling of a word matches; none if the word is an exception."""
        key, runs = squeeze(spelling)
        found: list[Term] = [term for term in self._words.get(key, ()) if _runs_fit(term.runs, runs, 0)]
        if key[:_MINIMUM_ROOT] in self._root_heads:
            for length in self._root_lengths:
                if length > len(key):
                    break
                for term in self._roots.get(key[:length], ()):
                    if _runs_fit(term.runs, runs, 0) and (
                        term.ending is None or term.ending.fullmatch(key, length) is not None
                    ):
                        found.append(term)
        if self._infix_pattern is not None:
            for hit in self._infix_pattern.finditer(key):
                found.extend(
                    term for term in self._infixes[hit.group()] if _runs_fit(term.runs, runs, hit.start())
                )
        if found and (spelling in self._exceptions or key in self._exceptions):
            return ()
        return tuple(found)

    def match_masked(self, spelling: str) -> tuple[Term, ...]:
        """Terms a masked word ("f*ck", "п**дец") could be: each run of * or # stands for about as many letters."""
        pieces = _MASK_RUN_RE.split(spelling)
        masks = _MASK_RUN_RE.findall(spelling)
        source = _repeatable(pieces[0])
        for mask, piece in zip(masks, pieces[1:], strict=True):
            source += f"\\w{{{max(1, len(mask) - 1)},{len(mask) + 1}}}" + _repeatable(piece)
        found: list[Term] = []
        for hit in re.finditer(f"^{source}$", self._masked_blob, re.MULTILINE):
            found.extend(self._masked[hit.group()])
        return tuple(dict.fromkeys(found))


def exception_spellings(word: str) -> list[str]:
    """Every reading of an innocent word, for the exception set (so a disguised spelling is excused too)."""
    reading = read_word(fold(word).text.strip())
    return list(reading.spellings)


def load_lexicon(data: dict[str, Any] | None = None, exceptions_text: str | None = None) -> Lexicon:
    """Compile lexicon.toml and exceptions.txt (or the given parsed data and text)."""
    data = load_data("lexicon.toml") if data is None else data
    if exceptions_text is None:
        exceptions_text = (
            resources.files("gatekeeper.data").joinpath("exceptions.txt").read_text(encoding="utf-8")
        )
    terms: list[Term] = []
    forms: list[str] = []
    for number, group in enumerate(data.get("group", ()), start=1):
        where = f"lexicon.toml group {number}"
        category, mild, decision = group_rule_settings(group, where)
        prefixes = [str(prefix) for prefix in group.get("prefixes", ())]
        for text in group.get("terms", ()):
            label = str(text).strip("*").split("{", 1)[0]
            rule = Rule(category, str(text)[:200], mild, decision, label=label)
            group_terms, group_forms = parse_term(str(text), rule, prefixes, where)
            terms += group_terms
            forms += group_forms
    masked_forms = [
        _spelling(str(form), "lexicon.toml masked_forms") for form in data.get("masked_forms", ())
    ]
    exceptions: list[str] = []
    for line in exceptions_text.splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            exceptions += exception_spellings(word)
    return Lexicon(terms, exceptions, [*masked_forms, *forms])


@cache
def default_lexicon() -> Lexicon:
    """The lexicon shipped with Ovation, compiled once per process."""
    return load_lexicon()


def custom_term(text: str) -> tuple[Category, str]:
    """Split a streamer's list entry into its category and term: "spam: free skins" → (SPAM, "free skins").

    Without a known category prefix the entry is profanity, the category whose policy (downgrade) suits a word the
    streamer simply does not want on stream.
    """
    head, separator, rest = text.partition(":")
    if separator and rest.strip():
        try:
            return Category(head.strip().lower()), rest.strip()
        except ValueError:
            pass
    return Category.PROFANITY, text.strip()
