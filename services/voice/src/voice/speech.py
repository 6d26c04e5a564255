"""Text made fit to be spoken: what a TTS engine reads badly or must not read is rewritten before any synthesis.

``normalise`` caps repeated characters and words (``soooooo!!!!!!`` is ``sooo!``), replaces links and e-mail
addresses with a word, spells numbers, percentages, ordinals, currency amounts and years as words (English or
Russian), drops emoji and markup symbols, and caps the length at a sentence or word boundary. The result is what is
moderated, cached and synthesised, so what is checked is exactly what is heard.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from num2words import num2words  # type: ignore[import-untyped]

from ovation_contracts import Money

MAX_REPEAT = 3
"""The same letter at most this many times in a row; the same word too."""
LONG_NUMBER_DIGITS = 10
"""Digit runs this long are ids, phone or card numbers: never read out digit by digit."""

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "link": "a link",
        "email": "an e-mail address",
        "long_number": "a long number",
        "percent": "percent",
        "and": "and",
    },
    "ru": {
        "link": "ссылка",
        "email": "адрес почты",
        "long_number": "длинное число",
        "percent": "процентов",
        "and": "и",
    },
}

# (singular, plural) in English; (one, few, many) in Russian, and whether the Russian word is feminine.
_CURRENCIES: dict[str, tuple[tuple[str, str], tuple[str, str, str], bool]] = {
    "RUB": (("rouble", "roubles"), ("рубль", "рубля", "рублей"), False),
    "USD": (("dollar", "dollars"), ("доллар", "доллара", "долларов"), False),
    "EUR": (("euro", "euros"), ("евро", "евро", "евро"), False),
    "GBP": (("pound", "pounds"), ("фунт", "фунта", "фунтов"), False),
    "KZT": (("tenge", "tenge"), ("тенге", "тенге", "тенге"), False),
    "UAH": (("hryvnia", "hryvnias"), ("гривна", "гривны", "гривен"), True),
    "BYN": (
        ("Belarusian rouble", "Belarusian roubles"),
        ("белорусский рубль", "белорусских рубля", "белорусских рублей"),
        False,
    ),
}
_MINOR: dict[str, tuple[tuple[str, str], tuple[str, str, str], bool]] = {
    "RUB": (("kopeck", "kopecks"), ("копейка", "копейки", "копеек"), True),
    "USD": (("cent", "cents"), ("цент", "цента", "центов"), False),
    "EUR": (("cent", "cents"), ("цент", "цента", "центов"), False),
    "GBP": (("penny", "pence"), ("пенни", "пенни", "пенни"), False),
}
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "₸": "KZT", "₴": "UAH"}

_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)\S+"
    r"|\b[\w\-]+(?:\.[\w\-]+)*\.(?:com|net|org|ru|su|io|gg|tv|me|ly|co|xyz|info|online|site|ua|kz|by|de|uk|рф)\b(?:/\S*)?",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,60}>")
_EMAIL = re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b")
_REPEATED_CHAR = re.compile(r"([^\W\d_])\1{" + str(MAX_REPEAT) + r",}")
_REPEATED_WORD = re.compile(
    r"\b(\w+)((?:[\s,.!?;:]+\1\b){" + str(MAX_REPEAT - 1) + r"})(?:[\s,.!?;:]+\1\b)+", re.IGNORECASE
)
_PUNCT_RUN = re.compile(r"([!?,;:])[!?,;:]*|\.{4,}|(?:\.\s*){4,}")
_PHONE = re.compile(r"\+?\d[\d\s\-()]{8,}\d")
_MONEY_BEFORE = re.compile(r"([$€£₽₸₴])\s?(\d[\d,]*(?:\.\d+)?)")
_MONEY_AFTER = re.compile(r"(\d[\d\s]*(?:[.,]\d+)?)\s?([$€£₽₸₴])")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s?%")
_ORDINAL = re.compile(r"\b(\d{1,6})(st|nd|rd|th)\b", re.IGNORECASE)
_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")
_KEEP_SYMBOLS = set(".,!?;:'\"-()%&+/$€£₽₸₴…«»—–")


def words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["en"])


def plural_ru(number: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for ``number``: 1 рубль, 2 рубля, 5 рублей (11 to 14 take the third form)."""
    n = abs(number) % 100
    if 11 <= n <= 14:
        return forms[2]
    if n % 10 == 1:
        return forms[0]
    if 2 <= n % 10 <= 4:
        return forms[1]
    return forms[2]


def number_words(value: int | Decimal, language: str = "en", *, feminine: bool = False) -> str:
    """``value`` in words (``4.5`` -> ``four point five``); a number too long to be a quantity is "a long number"."""
    lang = "ru" if language == "ru" else "en"
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            value = int(value)
        elif abs(value) >= Decimal(10) ** (LONG_NUMBER_DIGITS - 1):
            return words(lang)["long_number"]
        else:
            return str(num2words(str(value), lang=lang))
    if abs(value) >= 10 ** (LONG_NUMBER_DIGITS - 1):
        return words(lang)["long_number"]
    if lang == "ru":
        return str(num2words(value, lang="ru", gender="f" if feminine else "m"))
    return str(num2words(value, lang="en"))


def spoken_amount(money: Money, language: str = "en") -> str:
    """An amount as it is said: ``500 RUB`` -> "five hundred roubles", ``4.99 USD`` -> "four dollars and ninety
    nine cents", ``500 RUB`` in Russian -> "пятьсот рублей". Unknown currencies keep their code."""
    lang = "ru" if language == "ru" else "en"
    amount = money.amount.quantize(Decimal("0.01"))
    whole = int(amount)
    cents = int((amount - whole) * 100)
    major = _CURRENCIES.get(money.currency)
    minor = _MINOR.get(money.currency)
    if minor is None and cents:
        whole, cents = whole + (1 if cents >= 50 else 0), 0
    if major is None:
        return f"{number_words(whole, lang)} {' '.join(money.currency)}"
    text = _with_unit(whole, major, lang)
    if cents and minor is not None:
        text += f" {words(lang)['and']} {_with_unit(cents, minor, lang)}"
    return text


def _with_unit(count: int, unit: tuple[tuple[str, str], tuple[str, str, str], bool], lang: str) -> str:
    (en_one, en_many), ru_forms, feminine = unit
    if lang == "ru":
        return f"{number_words(count, 'ru', feminine=feminine)} {plural_ru(count, ru_forms)}"
    return f"{number_words(count, 'en')} {en_one if count == 1 else en_many}"


def normalise(text: str, *, language: str = "en", max_chars: int = 300) -> str:
    """``text`` rewritten to be spoken (see the module docstring); never longer than ``max_chars``."""
    lang = "ru" if language == "ru" else "en"
    text = unicodedata.normalize("NFKC", text)
    text = _TAG.sub(" ", text)
    text = _EMAIL.sub(f" {words(lang)['email']} ", text)
    text = _URL.sub(f" {words(lang)['link']} ", text)
    text = "".join(_keep(char) for char in text)
    text = _REPEATED_CHAR.sub(lambda m: m.group(1) * MAX_REPEAT, text)
    text = _PUNCT_RUN.sub(_one_punctuation, text)
    text = _REPEATED_WORD.sub(lambda m: m.group(1) + m.group(2), text)
    text = _spell_numbers(text, lang)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip(" ,;:-")
    return cap_length(text, max_chars)


def cap_length(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars``: at the last sentence end when that keeps most of it, else at a word."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 2:
        return head[: ends[-1]].strip()
    cut = head.rsplit(" ", 1)[0] if " " in head[: max_chars - 1] else head[: max_chars - 1]
    return cut.rstrip(" ,;:-") + "…"


def _keep(char: str) -> str:
    """Letters, digits, spaces and speakable punctuation stay; control characters, emoji and markup go."""
    if char.isalnum() or char in _KEEP_SYMBOLS:
        return char
    category = unicodedata.category(char)
    if category in {"Zs", "Cc"} or char in "\n\t":
        return " "
    return " " if category.startswith(("S", "P")) else ""


def _one_punctuation(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.startswith("."):
        return "..."
    return run[0]


def _spell_numbers(text: str, lang: str) -> str:
    long_number = f" {words(lang)['long_number']} "
    text = _PHONE.sub(long_number, text)
    text = _MONEY_BEFORE.sub(lambda m: _money_words(m.group(2), _SYMBOLS[m.group(1)], lang), text)
    text = _MONEY_AFTER.sub(lambda m: _money_words(m.group(1), _SYMBOLS[m.group(2)], lang), text)
    text = _PERCENT.sub(lambda m: _percent_words(m.group(1), lang), text)
    if lang == "en":
        text = _ORDINAL.sub(lambda m: str(num2words(int(m.group(1)), lang="en", to="ordinal")), text)
        text = _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text)
    return _NUMBER.sub(lambda m: _plain_number(m.group(0), lang), text)


def _decimal(raw: str) -> Decimal | None:
    cleaned = re.sub(r"\s", "", raw).replace(",", ".")
    if cleaned.count(".") > 1:
        cleaned = cleaned.replace(".", "", cleaned.count(".") - 1)
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _money_words(raw: str, currency: str, lang: str) -> str:
    value = _decimal(raw.replace(",", "") if lang == "en" else raw)
    if value is None or value >= Decimal(10) ** (LONG_NUMBER_DIGITS - 1):
        return f" {words(lang)['long_number']} "
    return f" {spoken_amount(Money(amount=value, currency=currency), lang)} "


def _percent_words(raw: str, lang: str) -> str:
    value = _decimal(raw)
    if value is None:
        return raw
    spoken = number_words(value, lang)
    if lang == "ru":
        unit = (
            "процента"
            if value != value.to_integral_value()
            else plural_ru(int(value), ("процент", "процента", "процентов"))
        )
        return f" {spoken} {unit} "
    return f" {spoken} percent "


def _plain_number(raw: str, lang: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) >= LONG_NUMBER_DIGITS:
        return f" {words(lang)['long_number']} "
    if "." in raw or "," in raw:
        separator = "." if "." in raw else ","
        whole, fraction = raw.split(separator, 1)
        if lang == "en" and separator == "," and len(fraction) == 3:
            return number_words(int(whole + fraction), lang)
        decimal = _decimal(raw)
        return number_words(decimal, lang) if decimal is not None else raw
    whole_number = int(digits)
    if lang == "en" and 1100 <= whole_number <= 1999 and len(raw) == 4:
        return str(num2words(whole_number, lang="en", to="year"))
    return number_words(whole_number, lang)
