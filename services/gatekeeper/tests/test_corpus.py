"""The rules on a labelled corpus of donation messages and donor names, about half of them Russian: harmful texts
are caught (recall at least 0.95) and harmless ones pass (false-positive rate at most 0.03)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.moderation import Moderator
from gatekeeper.moderation.evaluation import CorpusScore, read_corpus, score
from ovation_contracts import Category

CORPUS = Path(__file__).parent / "corpus" / "moderation.jsonl"

RECALL_FLOOR = 0.95
FALSE_POSITIVE_CEILING = 0.03


@pytest.fixture(scope="module")
def corpus_score(moderator: Moderator) -> CorpusScore:
    result = score(read_corpus(CORPUS), moderator)
    # The figures the README reports; run with -s to see them.
    print("\n" + result.table())
    return result


def test_the_corpus_is_big_balanced_and_bilingual() -> None:
    samples = read_corpus(CORPUS)
    assert len(samples) >= 400
    russian = sum(sample.language == "ru" for sample in samples)
    assert 0.4 <= russian / len(samples) <= 0.6
    harmful = [sample for sample in samples if sample.harmful]
    assert 0.35 <= len(harmful) / len(samples) <= 0.65
    assert {sample.category for sample in harmful} == set(Category)
    assert len({sample.text for sample in samples}) == len(samples)


def test_harmful_texts_are_caught(corpus_score: CorpusScore) -> None:
    missed = [f"{item.sample.category}: {item.sample.text!r}" for item in corpus_score.missed]
    assert corpus_score.recall >= RECALL_FLOOR, "\n".join(missed)


def test_harmless_texts_pass(corpus_score: CorpusScore) -> None:
    flagged = [f"{item.sample.text!r}: {item.verdict.reason}" for item in corpus_score.false_positives]
    assert corpus_score.false_positive_rate <= FALSE_POSITIVE_CEILING, "\n".join(flagged)


@pytest.mark.parametrize("category", list(Category))
def test_every_category_is_caught(corpus_score: CorpusScore, category: Category) -> None:
    tally = corpus_score.by_category[category]
    assert tally.rate >= RECALL_FLOOR, f"{category}: {tally.flagged}/{tally.total}"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_both_languages_are_caught_and_spared(corpus_score: CorpusScore, language: str) -> None:
    assert corpus_score.harmful_by_language[language].rate >= RECALL_FLOOR
    assert corpus_score.harmless_by_language[language].rate <= FALSE_POSITIVE_CEILING


def test_harmful_texts_are_put_in_their_category(corpus_score: CorpusScore) -> None:
    assert corpus_score.harmful.categorised / corpus_score.harmful.total >= 0.9
