"""How well the rules do on a labelled corpus: recall on harmful texts and false positives on harmless ones,
overall, per category and per language. The gatekeeper's tests enforce the figures; the README reports them.

The corpus is JSON Lines, one object per text::

    {"text": "...", "language": "en" | "ru", "label": "harmful" | "harmless",
     "category": "<expected category>" (harmful only), "field": "message" | "donor_name" (optional)}

A harmful text counts as caught when the verdict is not ``allow``, and as rightly categorised when the expected
category is among the verdict's categories. A harmless text is a false positive when the verdict is not ``allow``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ovation_contracts import Category, CheckedField, Decision, Verdict

from .engine import Moderator


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled text of the corpus."""

    text: str
    language: str
    harmful: bool
    category: Category | None = None
    checked: CheckedField = CheckedField.MESSAGE


@dataclass
class Tally:
    """Counts for one slice of the corpus (a category, a language, or everything)."""

    total: int = 0
    flagged: int = 0
    categorised: int = 0

    @property
    def rate(self) -> float:
        """Recall for harmful slices, false-positive rate for harmless ones."""
        return self.flagged / self.total if self.total else 0.0


@dataclass
class Misjudgement:
    """A text the rules got wrong, for the test's failure message."""

    sample: Sample
    verdict: Verdict


@dataclass
class CorpusScore:
    """Recall and false positives over a corpus, overall and per slice."""

    harmful: Tally = field(default_factory=Tally)
    harmless: Tally = field(default_factory=Tally)
    by_category: dict[Category, Tally] = field(default_factory=dict)
    harmful_by_language: dict[str, Tally] = field(default_factory=dict)
    harmless_by_language: dict[str, Tally] = field(default_factory=dict)
    missed: list[Misjudgement] = field(default_factory=list)
    false_positives: list[Misjudgement] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of harmful texts that were not allowed."""
        return self.harmful.rate

    @property
    def false_positive_rate(self) -> float:
        """Share of harmless texts that were not allowed."""
        return self.harmless.rate

    def table(self) -> str:
        """The figures as a Markdown table, for the README."""
        lines = [
            "| slice | texts | caught / flagged | rate | right category |",
            "|---|---:|---:|---:|---:|",
            f"| harmful, all | {self.harmful.total} | {self.harmful.flagged} | {self.recall:.3f} |"
            f" {self.harmful.categorised} |",
        ]
        for language, tally in sorted(self.harmful_by_language.items()):
            lines.append(f"| harmful, {language} | {tally.total} | {tally.flagged} | {tally.rate:.3f} | |")
        for category, tally in sorted(self.by_category.items(), key=lambda item: item[0].value):
            lines.append(
                f"| {category.value} | {tally.total} | {tally.flagged} | {tally.rate:.3f} | {tally.categorised} |"
            )
        lines.append(
            f"| harmless, all (false positives) | {self.harmless.total} | {self.harmless.flagged} |"
            f" {self.false_positive_rate:.3f} | |"
        )
        for language, tally in sorted(self.harmless_by_language.items()):
            lines.append(f"| harmless, {language} | {tally.total} | {tally.flagged} | {tally.rate:.3f} | |")
        return "\n".join(lines)


def read_corpus(path: Path) -> list[Sample]:
    """The samples of a JSON Lines corpus file; raises ValueError naming the line of a malformed entry."""
    samples: list[Sample] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            harmful = {"harmful": True, "harmless": False}[entry["label"]]
            category = Category(entry["category"]) if harmful else None
            samples.append(
                Sample(
                    text=str(entry["text"]),
                    language=str(entry["language"]),
                    harmful=harmful,
                    category=category,
                    checked=CheckedField(entry.get("field", CheckedField.MESSAGE.value)),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a corpus entry ({error!r})") from None
    return samples


def score(samples: Iterable[Sample], moderator: Moderator | None = None) -> CorpusScore:
    """Run every sample through ``moderator`` (the default rules when None) and count."""
    moderator = moderator if moderator is not None else Moderator()
    result = CorpusScore()
    for sample in samples:
        verdict = moderator.check_text(sample.text, sample.checked)
        flagged = verdict.decision is not Decision.ALLOW
        if sample.harmful:
            assert sample.category is not None
            categorised = sample.category in verdict.categories
            for tally in (
                result.harmful,
                result.by_category.setdefault(sample.category, Tally()),
                result.harmful_by_language.setdefault(sample.language, Tally()),
            ):
                tally.total += 1
                tally.flagged += flagged
                tally.categorised += categorised
            if not flagged:
                result.missed.append(Misjudgement(sample, verdict))
        else:
            for tally in (result.harmless, result.harmless_by_language.setdefault(sample.language, Tally())):
                tally.total += 1
                tally.flagged += flagged
            if flagged:
                result.false_positives.append(Misjudgement(sample, verdict))
    return result


def score_corpus(path: Path, moderator: Moderator | None = None) -> CorpusScore:
    """``score`` over the corpus file at ``path``."""
    return score(read_corpus(path), moderator)
