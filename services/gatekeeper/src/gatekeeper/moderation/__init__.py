"""Moderation of donor text: the gatekeeper's pure-Python rules engine (no NATS, no HTTP).

``Moderator().check(message, donor_name)`` returns an ``ovation_contracts.Verdict``: allow, downgrade or block, with
the categories, a sentence for the moderator, and spans that point into the original text. The policy is in
``gatekeeper.moderation.engine``; the words, roots, phrases and patterns are data files in ``gatekeeper/data``:

* ``confusables.toml``: look-alike letters, leetspeak, styled letters;
* ``lexicon.toml`` and ``exceptions.txt``: words and roots by category, and the innocent words they must not catch;
* ``phrases.toml``: multi-word rules (threats, self-harm, sexual requests, insults, prompt injection, promotion);
* ``detectors.toml``: links, e-mail addresses, phone and card numbers, floods.

Modules: ``normalise`` (folding, words, readings), ``lexicon``, ``rules`` (phrases and detectors), ``engine``
(the ``Moderator`` and its policy), ``cli`` (``ovation moderate``), ``evaluation`` (figures on a labelled corpus).

Libraries: the standard library only. ``unicodedata`` gives the compatibility folding (NFKC/NFKD), ``re`` the phrase
and detector patterns, ``tomllib`` the data files. Word matching is dictionary lookups keyed by whole words and word
beginnings, which is as fast as an Aho-Corasick automaton for one-word terms and keeps the morphology (roots,
endings, Russian prefixes, exceptions) readable; ``pyahocorasick`` or ``regex`` would add a compiled dependency
without a measurable gain (see ``bench/bench_moderation.py``). Libraries like ``confusable_homoglyphs`` or
``unidecode`` cover all of Unicode but would also rewrite letters we must keep (Cyrillic itself), so the short
table of look-alikes that matter for English and Russian lives in ``confusables.toml``.
"""

from .engine import (
    DEFAULT_DECISIONS,
    MAX_CHECKED_CHARACTERS,
    ModerationCounters,
    Moderator,
    failed_closed_verdict,
)
from .normalise import FoldedText, fold, normalise

__all__ = [
    "DEFAULT_DECISIONS",
    "MAX_CHECKED_CHARACTERS",
    "FoldedText",
    "ModerationCounters",
    "Moderator",
    "failed_closed_verdict",
    "fold",
    "normalise",
]
