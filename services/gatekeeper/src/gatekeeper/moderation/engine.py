"""The moderation engine: a donor's message and name in, a ``Verdict`` out, in tens of microseconds.

What is checked, in order, on each field (the message, then the donor name):

1. every word against the lexicon, in each of its readings (Latin and Cyrillic look-alikes, leetspeak);
2. letters the donor spaced out ("f u c k", "х.у.й"), glued back in every way the run allows;
3. neighbouring fragments of a word split by a space ("fu ck", "пи здец"), only against strong terms;
4. masked words ("f*ck", "бл*ть") against the lexicon's full forms;
5. phrases (threats, self-harm, sexual requests, insults, prompt injection, promotion) on the word stream;
6. links, e-mail addresses, phone and card numbers, floods of one character, capitals or one word;
7. the streamer's own lists (``ModerationSettings.blocked_terms`` and ``allowed_terms``).

Verdict policy (a downgrade thanks the donor but drops the message from every reaction; a block drops every reaction
beyond the record):

=================  ===========  =========================================================================
category           decision     why
=================  ===========  =========================================================================
slurs              block        hate on stream is never worth a thank-you alert with the donor's name
sexual             block        explicit requests are trolling aimed at the drawing and video generators
violence           block        threats against the streamer or others
self_harm          block        urging someone to hurt themselves; the donor's *own* distress ("I want
                                to die") only downgrades, so the thanks still happen and a person can look
profanity          downgrade    swearing is common and rarely malicious; the donor is still thanked
spam               downgrade    links and promotion must not reach the screen, the money was still real
personal_data      downgrade    phone numbers, e-mail addresses, cards and addresses are dropped
prompt_injection   downgrade    instructions aimed at the LLMs are dropped before any model sees them
=================  ===========  =========================================================================

* A rule marked ``mild`` in its data file (a single word with an innocent meaning too, such as "cock" or "негр")
  downgrades at most and makes the verdict ``uncertain``, so an optional LLM second opinion can be asked.
* A partial match (a masked word, a word split by a space) is ``uncertain`` too, whatever its rule.
* Violations in the donor name downgrade at most: the name is replaced by "Anonymous", the donation stays.
* The strictest decision of all findings wins; the verdict is ``uncertain`` only when no certain finding reaches
  that decision. With no finding, the verdict allows; it is still ``uncertain`` when a word looks disguised
  (Latin and Cyrillic letters in one word, letters hidden behind ``*``) but matched nothing.
* The streamer's blocked terms count as profanity (downgrade) unless written "category: term"; their allowed terms
  win over every rule on exactly that text.
* Text longer than ``MAX_CHECKED_CHARACTERS`` is checked up to that length and downgraded as spam. A text crafted to
  make the rules work hard (hundreds of spaced-out letters or masked words) is checked up to a budget and counted
  as a flood: borderline spam, downgraded.
* Any internal error fails closed: a downgrade with ``failed_closed=True``, counted in ``Moderator.counters``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ovation_contracts import (
    Category,
    CheckedField,
    Decision,
    ModerationSettings,
    Reviewer,
    Span,
    Verdict,
)

from .lexicon import Lexicon, Term, custom_term, default_lexicon, exception_spellings
from .normalise import (
    FoldedText,
    Word,
    fold,
    join_spaced_letters,
    lookalikes_as_latin,
    read_word,
    readable_copy,
    spaced_letter_runs,
    split_words,
    squeeze,
    stream_forms,
)
from .rules import (
    Detectors,
    Finding,
    PhraseBook,
    Rule,
    WordStream,
    default_detectors,
    default_phrase_book,
)

DEFAULT_DECISIONS: dict[Category, Decision] = {
    Category.SLURS: Decision.BLOCK,
    Category.SEXUAL: Decision.BLOCK,
    Category.VIOLENCE: Decision.BLOCK,
    Category.SELF_HARM: Decision.BLOCK,
    Category.PROFANITY: Decision.DOWNGRADE,
    Category.SPAM: Decision.DOWNGRADE,
    Category.PERSONAL_DATA: Decision.DOWNGRADE,
    Category.PROMPT_INJECTION: Decision.DOWNGRADE,
}
"""What a certain, non-mild finding of each category decides (see the module docstring)."""

MAX_CHECKED_CHARACTERS = 10_000
"""The longest text checked; ``ModerationRequest.text`` allows this much, a donation message far less."""

# Letters spaced out one by one are glued back in every window up to this long ("f u c k i n g" is 7).
_LONGEST_SPACED_WORD = 14
# Fragments of a split word: each inner piece this short at most, and this close to the next piece.
_SHORT_FRAGMENT = 3
_FRAGMENT_GAP = 3
_WORD_CACHE_LIMIT = 100_000
# Work limits per text, so a crafted text cannot stall the gatekeeper: beyond them the text counts as a flood.
_SPACED_WINDOW_BUDGET = 1_500
_MASKED_WORD_BUDGET = 32
_LONGEST_MASKED_WORD = 24
_LEET_SYMBOL_RE = re.compile(r"(?<=\w)[@$!|€£](?=\w)")
_LATIN_RE = re.compile(r"[a-z]")
# Words of one letter in English and Russian; a spaced-out run that starts with one starts a new word after it.
_ONE_LETTER_WORDS = frozenset("aiuяаивскуо")
_CYRILLIC_RE = re.compile(r"[\u0430-\u045f]")
_SEVERITY = {Decision.ALLOW: 0, Decision.DOWNGRADE: 1, Decision.BLOCK: 2}
_CATEGORY_WORDS = {
    Category.SEXUAL: "sexual content",
    Category.PROFANITY: "profanity",
    Category.SLURS: "a slur",
    Category.VIOLENCE: "violence or a threat",
    Category.SELF_HARM: "self-harm",
    Category.SPAM: "spam or a link",
    Category.PERSONAL_DATA: "personal data",
    Category.PROMPT_INJECTION: "instructions aimed at the AI (prompt injection)",
}
_FIELD_WORDS = {CheckedField.MESSAGE: "the message", CheckedField.DONOR_NAME: "the donor name"}
_TOO_LONG = Rule(Category.SPAM, f"longer than {MAX_CHECKED_CHARACTERS} characters")
_SPACED_FLOOD = Rule(Category.SPAM, "flood: too many spaced-out letters to check", mild=True)
_MASKED_FLOOD = Rule(Category.SPAM, "flood: too many masked words to check", mild=True)
_ALLOWED = Verdict(decision=Decision.ALLOW, reason="No rule matched.")
_REASON_LIMIT = 1000  # Verdict.reason's max_length
_REASON_CACHE_LIMIT = 10_000
_REASONS: dict[tuple[Decision, tuple[tuple[CheckedField, Category, str], ...], bool], str] = {}


@dataclass
class ModerationCounters:
    """How many checks ran and how many of them failed closed. Shared by every moderator derived with
    ``with_lists``, so a service reads one pair of numbers (for its metrics) however often the lists change."""

    checked: int = 0
    failed_closed: int = 0


class _Located(NamedTuple):
    """A finding placed in one field of the original text, with what it decides."""

    rule: Rule
    field: CheckedField
    start: int
    end: int
    decision: Decision
    uncertain: bool


class _WordMatch(NamedTuple):
    """What one word matched."""

    rules: tuple[Rule, ...]
    mixed_script: bool
    partial: bool
    """Matched only with a symbol read as a hidden letter."""
    may_start_strong: bool
    """Some reading is the beginning of a strong term, so the word may be the first piece of a split one."""
    key_length: int
    """The longest key among the matched terms (0 when only a masked reading matched)."""
    single_letter: bool
    """One letter, possibly repeated ("k", "kk"): maybe part of spaced-out letters."""
    forms: tuple[str, str]
    """The word's Latin and Cyrillic stream forms (see ``normalise.stream_forms``)."""


@dataclass
class _Scan:
    """What scanning one text found."""

    folded: FoldedText
    findings: list[Finding] = field(default_factory=list)
    disguised: bool = False
    masked_words: int = 0


def _decision_of(rule: Rule, checked: CheckedField) -> Decision:
    decision = Decision.DOWNGRADE if rule.mild else (rule.decision or DEFAULT_DECISIONS[rule.category])
    if checked is CheckedField.DONOR_NAME and decision is Decision.BLOCK:
        return Decision.DOWNGRADE
    return decision


def _custom_terms(entries: Iterable[str]) -> tuple[list[Term], list[tuple[str, str, Rule]]]:
    """Compile a streamer's blocked terms: single words into lexicon terms, anything longer into phrases."""
    terms: list[Term] = []
    phrases: list[tuple[str, str, Rule]] = []
    for entry in entries:
        category, text = custom_term(entry)
        rule = Rule(category, f"custom: {text}"[:200])
        any_ending = text.endswith("*")
        words = [word for word in split_words(fold(text.rstrip("*")).text) if not word.masked]
        if not words:
            continue
        if len(words) == 1:
            key, runs = squeeze(read_word(words[0].text).main)
            if len(key) >= 2:
                terms.append(Term(rule, "root" if any_ending else "word", key, runs))
            continue
        ending = r"\w*" if any_ending else ""
        for index, reading in enumerate(("en", "ru")):
            pattern = " ".join(re.escape(stream_forms(word.text)[index]) for word in words) + ending
            phrases.append((reading, pattern, rule))
    return terms, phrases


def _allowed_phrases(entries: Iterable[str]) -> tuple[list[str], list[str], list[tuple[str, str, Rule]]]:
    """Split a streamer's allowed terms into single words (exceptions), literal texts and word-stream phrases."""
    words: list[str] = []
    literals: list[str] = []
    phrases: list[tuple[str, str, Rule]] = []
    for entry in entries:
        folded = fold(entry).text.strip()
        entry_words = [word for word in split_words(folded) if not word.masked]
        if not entry_words:
            continue
        if len(entry_words) == 1 and entry_words[0].text == folded:
            words += exception_spellings(folded)
            continue
        literals.append(folded)
        rule = Rule(Category.SPAM, f"allowed: {entry}"[:200])
        for index, reading in enumerate(("en", "ru")):
            pattern = " ".join(re.escape(stream_forms(word.text)[index]) for word in entry_words)
            phrases.append((reading, pattern, rule))
    return words, literals, phrases


class Moderator:
    """Checks donor text against every rule and returns a ``Verdict``; never raises from ``check``.

    Build one per process (``Moderator()`` compiles nothing new after the first) and derive one per change of the
    streamer's lists with ``with_lists`` or ``with_settings``, which reuses everything compiled so far.
    Not thread-safe: its word cache and counters assume one event loop.
    """

    def __init__(
        self,
        settings: ModerationSettings | None = None,
        *,
        lexicon: Lexicon | None = None,
        phrases: PhraseBook | None = None,
        detectors: Detectors | None = None,
        counters: ModerationCounters | None = None,
    ) -> None:
        self._base_lexicon = lexicon if lexicon is not None else default_lexicon()
        self._lexicon = self._base_lexicon
        self._phrases = phrases if phrases is not None else default_phrase_book()
        self._detectors = detectors if detectors is not None else default_detectors()
        self.counters = counters if counters is not None else ModerationCounters()
        self._custom: Lexicon | None = None
        self._custom_phrases: PhraseBook | None = None
        self._allowed_literals: tuple[str, ...] = ()
        self._allowed_phrases: PhraseBook | None = None
        self._word_cache: dict[str, _WordMatch] = {}
        strong_keys = [
            key for key, terms in self._base_lexicon.entries() if any(not term.rule.mild for term in terms)
        ]
        # Every beginning of a strong key: the first piece of a split word must be one of these.
        self._strong_beginnings = frozenset(
            key[:length] for key in strong_keys for length in range(1, len(key) + 1)
        )
        if settings is not None:
            self._apply_lists(settings.blocked_terms, settings.allowed_terms)

    def with_lists(self, blocked_terms: Sequence[str] = (), allowed_terms: Sequence[str] = ()) -> Moderator:
        """A moderator that also applies these lists (replacing any lists this one had), sharing the compiled
        built-in rules and the counters. Costs about a millisecond, so call it whenever the settings change."""
        derived = copy.copy(self)
        derived._word_cache = {}
        derived._apply_lists(blocked_terms, allowed_terms)
        return derived

    def with_settings(self, settings: ModerationSettings) -> Moderator:
        """``with_lists`` with the lists of ``settings``."""
        return self.with_lists(settings.blocked_terms, settings.allowed_terms)

    def _apply_lists(self, blocked_terms: Sequence[str], allowed_terms: Sequence[str]) -> None:
        allowed_words, literals, allowed_phrases = _allowed_phrases(allowed_terms)
        self._lexicon = (
            self._base_lexicon.with_exceptions(allowed_words) if allowed_words else self._base_lexicon
        )
        terms, phrases = _custom_terms(blocked_terms)
        self._custom = Lexicon(terms, allowed_words, ()) if terms else None
        self._custom_phrases = PhraseBook.build(phrases) if phrases else None
        self._allowed_literals = tuple(literals)
        self._allowed_phrases = PhraseBook.build(allowed_phrases) if allowed_phrases else None

    # ------------------------------------------------------------------------------------------------- checking

    def check(self, message: str | None, donor_name: str | None = None) -> Verdict:
        """The verdict on a donation's message and donor name (either may be None or empty).

        Never raises: an internal error returns a downgrade with ``failed_closed=True`` and counts it.
        """
        self.counters.checked += 1
        try:
            located: list[_Located] = []
            disguised = False
            if message:
                located, disguised = self._check_field(message, CheckedField.MESSAGE)
            if donor_name:
                name_located, name_disguised = self._check_field(donor_name, CheckedField.DONOR_NAME)
                located += name_located
                disguised = disguised or name_disguised
            return _verdict(located, disguised)
        except Exception as error:
            # Whatever went wrong, nothing unchecked may reach the stream.
            self.counters.failed_closed += 1
            return failed_closed_verdict(error)

    def check_text(self, text: str, checked: CheckedField = CheckedField.MESSAGE) -> Verdict:
        """The verdict on one text to be spoken or shown (a caption, an LLM's line, a name); never raises."""
        if checked is CheckedField.DONOR_NAME:
            return self.check(None, text)
        return self.check(text)

    def _check_field(self, text: str, checked: CheckedField) -> tuple[list[_Located], bool]:
        too_long = len(text) > MAX_CHECKED_CHARACTERS
        if too_long:
            text = text[:MAX_CHECKED_CHARACTERS]
        scan = self._scan(text)
        located: list[_Located] = []
        if too_long:
            end = MAX_CHECKED_CHARACTERS
            located.append(
                _Located(_TOO_LONG, checked, end - 1, end, _decision_of(_TOO_LONG, checked), False)
            )
        if not scan.findings:
            return located, scan.disguised
        allowed = (
            self._allowed_spans(scan.folded.text) if self._allowed_phrases or self._allowed_literals else ()
        )
        for finding in scan.findings:
            if allowed and any(start <= finding.start and finding.end <= end for start, end in allowed):
                continue
            start, end = scan.folded.original_span(finding.start, finding.end)
            uncertain = finding.uncertain or finding.rule.mild
            located.append(
                _Located(finding.rule, checked, start, end, _decision_of(finding.rule, checked), uncertain)
            )
        return located, scan.disguised

    def _allowed_spans(self, folded: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for literal in self._allowed_literals:
            position = folded.find(literal)
            while position >= 0:
                spans.append((position, position + len(literal)))
                position = folded.find(literal, position + 1)
        if self._allowed_phrases is not None:
            words = join_spaced_letters(split_words(folded))
            latin, cyrillic = WordStream.of(words, cyrillic=False), WordStream.of(words, cyrillic=True)
            spans += [(item.start, item.end) for item in self._allowed_phrases.scan(latin, cyrillic, folded)]
        return spans

    def _scan(self, text: str) -> _Scan:
        folded = fold(text)
        scan = _Scan(folded)
        words = split_words(folded.text)
        matches, ordinary = self._scan_words(words, scan)
        pairs = [] if ordinary else spaced_letter_runs(words, shortest=2)
        runs = [(first, last) for first, last in pairs if last - first >= 3]
        if runs:
            self._scan_spaced_letters(words, runs, scan)
        self._scan_split_words(words, matches, folded.text, scan)
        # English phrases need Latin letters and Russian ones Cyrillic letters; most texts have only one script.
        has_latin = _LATIN_RE.search(folded.text) is not None
        has_cyrillic = _CYRILLIC_RE.search(folded.text) is not None
        if ordinary:
            # No spaced letters and no masked words: the streams come straight from each word's cached forms.
            latin = _stream(words, matches, 0) if has_latin else None
            cyrillic = _stream(words, matches, 1) if has_cyrillic else None
        else:
            # Phrases also glue two spaced letters ("a n evil AI"); a phrase may start or end inside a glued word.
            reading = join_spaced_letters(words, pairs)
            latin = WordStream.of(reading, cyrillic=False) if has_latin else None
            cyrillic = WordStream.of(reading, cyrillic=True) if has_cyrillic else None
        # Links, addresses and markup disguised with look-alikes are searched again as Latin, and as each word reads.
        copies: list[str] = []
        if has_cyrillic:
            copies.append(lookalikes_as_latin(folded.text))
            if has_latin:
                copies.append(readable_copy(folded.text, words))
        scan.findings += self._phrases.scan(latin, cyrillic, folded.text, copies)
        if self._custom_phrases is not None:
            scan.findings += self._custom_phrases.scan(latin, cyrillic, folded.text, copies)
        scan.findings += self._detectors.scan(text, folded.text, words, copies, has_latin and has_cyrillic)
        return scan

    def _word_rules(self, text: str) -> _WordMatch:
        """The rules one word matches in any reading; cached per word."""
        cached = self._word_cache.get(text)
        if cached is not None:
            return cached
        reading = read_word(text)
        rules: dict[Rule, None] = {}
        key_length = 0
        for spelling in reading.spellings:
            terms = self._lexicon.match(spelling)
            if self._custom is not None:
                terms += self._custom.match(spelling)
            for term in terms:
                rules[term.rule] = None
                key_length = max(key_length, len(term.key))
        partial = False
        if not rules and len(text) <= _LONGEST_MASKED_WORD and _LEET_SYMBOL_RE.search(text):
            # A symbol inside a word may hide a letter rather than stand for one ("бл@дь" is блядь, not бладь).
            for spelling in read_word(_LEET_SYMBOL_RE.sub("*", text)).spellings:
                for term in self._lexicon.match_masked(spelling):
                    rules[term.rule] = None
            partial = bool(rules)
        may_start_strong = any(
            squeeze(spelling)[0] in self._strong_beginnings for spelling in reading.spellings
        )
        single_letter = len(text) == 1 or text == text[0] * len(text)
        result = _WordMatch(
            tuple(rules),
            reading.mixed_script,
            partial,
            may_start_strong,
            key_length,
            single_letter,
            stream_forms(text),
        )
        if len(self._word_cache) >= _WORD_CACHE_LIMIT:
            self._word_cache.clear()
        self._word_cache[text] = result
        return result

    def _scan_words(self, words: Sequence[Word], scan: _Scan) -> tuple[list[_WordMatch | None], bool]:
        """Match every word; return each word's match (None for masked words) for the later steps, and whether the
        words are all ordinary (none masked, no two one-letter words in a row), which lets later steps take
        shortcuts."""
        matches: list[_WordMatch | None] = []
        ordinary = True
        previous_single = False
        cache = self._word_cache
        for word in words:
            if word.masked:
                matches.append(None)
                ordinary = False
                self._scan_masked(word, scan)
                continue
            match = cache.get(word.text) or self._word_rules(word.text)
            matches.append(match)
            if match.rules:
                scan.findings += [Finding(rule, word.start, word.end, match.partial) for rule in match.rules]
            elif match.mixed_script:
                scan.disguised = True
            if match.single_letter:
                if previous_single:
                    ordinary = False
                previous_single = True
            else:
                previous_single = False
        return matches, ordinary

    def _scan_masked(self, word: Word, scan: _Scan) -> None:
        if not 3 <= len(word.text) <= _LONGEST_MASKED_WORD or not any(char.isalpha() for char in word.text):
            return
        scan.masked_words += 1
        if scan.masked_words > _MASKED_WORD_BUDGET:
            if scan.masked_words == _MASKED_WORD_BUDGET + 1:
                scan.findings.append(Finding(_MASKED_FLOOD, word.start, word.end))
            return
        rules: dict[Rule, None] = {}
        for spelling in read_word(word.text).spellings:
            for term in self._lexicon.match_masked(spelling):
                rules[term.rule] = None
        scan.findings += [Finding(rule, word.start, word.end, uncertain=True) for rule in rules]
        scan.disguised = scan.disguised or not rules

    def _scan_spaced_letters(
        self, words: Sequence[Word], runs: Sequence[tuple[int, int]], scan: _Scan
    ) -> None:
        """Letters spaced one by one, glued back in every window of the run, since the donor may have spaced out
        several words ("u k y s"). Where the spacing shows word breaks (a wider gap), those start words too; a window
        that starts anywhere else must be little more than a root of three letters or more, so "р е б я т а" does
        not read as "еб..."."""
        budget = _SPACED_WINDOW_BUDGET
        for first, last in runs:
            if budget <= 0:
                scan.findings.append(Finding(_SPACED_FLOOD, words[first].start, words[last - 1].end))
                return
            gaps = [words[index + 1].start - words[index].end for index in range(first, last - 1)]
            narrowest = min(gaps)
            breaks = {first} | {first + offset + 1 for offset, gap in enumerate(gaps) if gap > narrowest}
            if words[first].text in _ONE_LETTER_WORDS:
                breaks.add(first + 1)  # "я е б а л": the run starts with a word of its own
            for start in range(first, last - 1):
                budget -= _LONGEST_SPACED_WORD
                if budget < 0:
                    scan.findings.append(Finding(_SPACED_FLOOD, words[start].start, words[last - 1].end))
                    return
                for end in range(start + 2, min(last, start + _LONGEST_SPACED_WORD) + 1):
                    match = self._word_rules("".join(word.text for word in words[start:end]))
                    if not match.rules:
                        continue
                    if start in breaks:
                        if end - start < 3 and start > first:
                            continue
                    elif not (match.key_length >= 3 and end - start <= match.key_length + 2):
                        continue
                    scan.findings += [
                        Finding(rule, words[start].start, words[end - 1].end, match.partial)
                        for rule in match.rules
                    ]

    def _scan_split_words(
        self, words: Sequence[Word], matches: Sequence[_WordMatch | None], folded: str, scan: _Scan
    ) -> None:
        """A word split by a space or a dot into short pieces ("fu ck", "пи здец"): only strong terms count, and
        the match is uncertain, because two innocent words can happen to spell a bad one."""
        count = len(words)
        for first in range(count - 1):
            match = matches[first]
            # A first piece that begins no strong term rules out every window it starts (single letters begin many).
            if match is None or (len(words[first].text) > 1 and not match.may_start_strong):
                continue
            joined = words[first].text
            for last in range(first + 1, min(count, first + 3)):
                piece = words[last]
                if piece.masked or piece.start - words[last - 1].end > _FRAGMENT_GAP:
                    break
                joined += piece.text
                window = self._word_rules(joined)
                if not window.rules and not window.may_start_strong:
                    break
                if window.rules and _fragments(words, first, last, folded):
                    scan.findings += [
                        Finding(rule, words[first].start, piece.end, uncertain=True)
                        for rule in window.rules
                        if not rule.mild
                    ]


def _stream(words: Sequence[Word], matches: Sequence[_WordMatch | None], which: int) -> WordStream:
    """The stream of ordinary words (no masked ones, no spaced letters) from their cached forms."""
    forms = [match.forms[which] for match in matches if match is not None]
    kept: tuple[int, ...] | None = None
    if not all(forms):
        kept = tuple(index for index, form in enumerate(forms) if form)
        forms = [form for form in forms if form]
    return WordStream(" ".join(forms), tuple(forms), words, kept, False)


def _fragments(words: Sequence[Word], first: int, last: int, folded: str) -> bool:
    """Whether ``words[first:last + 1]`` look like pieces of one word: close together, inner pieces short, at most
    one long piece and only at an end, and not all single letters (those are spaced letters, handled on their own)."""
    long_pieces = 0
    single = 0
    for index in range(first, last + 1):
        word = words[index]
        if word.masked:
            return False
        size = len(word.text)
        if size > _SHORT_FRAGMENT:
            if first < index < last:
                return False
            long_pieces += 1
            if long_pieces > 1:
                return False
        single += size == 1
        if index > first:
            gap_start = words[index - 1].end
            if word.start - gap_start > _FRAGMENT_GAP or "\n" in folded[gap_start : word.start]:
                return False
    return single < last - first + 1


def _deduplicated(located: list[_Located]) -> list[_Located]:
    """One finding per place and category: the strictest and most certain, the widest when they nest."""
    if len(located) == 1:
        return located
    ordered = sorted(
        located,
        key=lambda item: (-_SEVERITY[item.decision], item.uncertain, item.start - item.end, item.start),
    )
    kept: list[_Located] = []
    for item in ordered:
        for other in kept:
            if (
                other.start <= item.start
                and item.end <= other.end
                and other.field is item.field
                and other.rule.category is item.rule.category
            ):
                break
        else:
            kept.append(item)
    return sorted(kept, key=lambda item: (item.field is CheckedField.DONOR_NAME, item.start, item.end))


def _reason(decision: Decision, located: Sequence[_Located], uncertain: bool) -> str:
    """The sentence a moderator reads; the same findings always read the same, so it is cached by what it says."""
    summary = tuple((item.field, item.rule.category, item.rule.readable) for item in located)
    key = (decision, summary, uncertain)
    reason = _REASONS.get(key)
    if reason is None:
        reason = _compose_reason(decision, summary, uncertain)
        if len(_REASONS) >= _REASON_CACHE_LIMIT:
            _REASONS.clear()
        _REASONS[key] = reason
    return reason


def _compose_reason(
    decision: Decision, summary: Sequence[tuple[CheckedField, Category, str]], uncertain: bool
) -> str:
    parts: list[str] = []
    for checked in (CheckedField.MESSAGE, CheckedField.DONOR_NAME):
        in_field = [(category, label) for field_, category, label in summary if field_ is checked]
        for category in dict.fromkeys(category for category, _ in in_field):
            labels = list(dict.fromkeys(label for other, label in in_field if other is category))
            shown = ", ".join(f"'{label}'" for label in labels[:3]) + (", ..." if len(labels) > 3 else "")
            parts.append(f"{_CATEGORY_WORDS[category]} in {_FIELD_WORDS[checked]} ({shown})")
    if decision is Decision.BLOCK:
        outcome = "Blocked: {}. No reaction beyond the record."
    elif all(field_ is CheckedField.DONOR_NAME for field_, _, _ in summary):
        outcome = "Downgraded: {}. The donation is thanked as from 'Anonymous'."
    else:
        outcome = "Downgraded: {}. The donation is thanked without its text."
    reason = outcome.format("; ".join(parts))
    if uncertain:
        reason += " Borderline: a second opinion may change this."
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 3] + "..."


def _verdict(located: list[_Located], disguised: bool) -> Verdict:
    if not located:
        if not disguised:
            return _ALLOWED
        return Verdict(
            decision=Decision.ALLOW,
            uncertain=True,
            reason=(
                "No rule matched, but a word looks disguised (letters of two alphabets, or letters hidden behind *);"
                " a second opinion may change this."
            ),
        )
    kept = _deduplicated(located)
    decision = max((item.decision for item in kept), key=_SEVERITY.__getitem__)
    uncertain = not any(item.decision is decision and not item.uncertain for item in kept)
    categories = tuple(
        dict.fromkeys(item.rule.category for item in sorted(kept, key=lambda item: -_SEVERITY[item.decision]))
    )
    spans = tuple(
        Span(
            field=item.field, start=item.start, end=item.end, category=item.rule.category, rule=item.rule.name
        )
        for item in kept
    )
    return Verdict(
        decision=decision,
        categories=categories,
        spans=spans,
        reason=_reason(decision, kept, uncertain),
        uncertain=uncertain,
        reviewed_by=(Reviewer.RULES,),
    )


def failed_closed_verdict(error: BaseException) -> Verdict:
    """The strict verdict returned when moderation itself failed: the text is withheld, the donor still thanked."""
    return Verdict(
        decision=Decision.DOWNGRADE,
        reason=(
            f"Moderation failed ({type(error).__name__}), so the text is withheld to be safe; the donation is still"
            " thanked."
        ),
        uncertain=True,
        failed_closed=True,
        reviewed_by=(Reviewer.RULES,),
    )
