"""DonationAlerts JSON turned into :class:`ovation_contracts.Donation`, or into a typed reason why not.

One function reads the bytes (:func:`decode_json`), one turns a donation object into a contract
(:func:`parse_donation`). On bad input both raise :class:`~ingest.donationalerts.errors.Malformed` and nothing
else.

Decisions, because DonationAlerts documents none of them:

- ``created_at`` carries no zone (``"2019-09-29 09:00:00"``). It is read as **UTC**. A value that does carry
  an offset (ISO 8601 with ``Z`` or ``+03:00``) is honoured and converted to UTC.
- ``amount`` is read from the JSON number's own digits (``json.loads(parse_float=Decimal)``), never through a
  float.
- A message longer than ``MAX_MESSAGE_CHARS`` (or a name longer than ``MAX_NAME_CHARS``) is **truncated, not
  rejected**: the donor paid, so the donation must still get its reaction. The cut is marked with ``…`` and
  listed in :attr:`DonationReceived.truncated` so the service can log it.
- ``amount_in_user_currency`` carries no currency of its own: it is in the streamer's main currency, which
  ``/user/oauth`` does not document. It is kept only when that currency is known (configured, or read from an
  undocumented ``currency`` field of the profile) and readable; otherwise it is dropped, never the donation.
- Half of a broken ``\\uXXXX`` surrogate pair in a name or message becomes U+FFFD (the replacement character),
  for the same reason: the rest of the text and the donation are kept.
- For ``message_type == "audio"`` the audio's address is taken from ``audio_url`` if present, else from
  ``message`` when that is an http(s) URL (which field holds it is undocumented).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, NoReturn

from pydantic import HttpUrl, TypeAdapter, ValidationError

from ovation_contracts.audience import MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Donation, MessageType, global_id
from ovation_contracts.envelope import utc_now
from ovation_contracts.money import Money

from .errors import Malformed, MalformedReason

SOURCE = "donationalerts"
DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20
"""Largest single JSON document accepted from the websocket or one REST page (1 MiB)."""

Via = Literal["rest", "realtime"]
TRUNCATION_MARK = "…"
_EXCERPT_CHARS = 1000
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_MAX_AMOUNT_DIGITS = 20  # ovation_contracts.money.Amount: max_digits=20, decimal_places=8
_MAX_AMOUNT_PLACES = 8
_MAX_ID_DIGITS = 20


@dataclass(frozen=True)
class DonationReceived:
    """A donation read from DonationAlerts; ``truncated`` names the fields cut to fit the contract."""

    donation: Donation
    via: Via
    truncated: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    """Optional fields present but unreadable, left out (e.g. ``amount_in_user_currency``): worth a log line."""

    @property
    def upstream_id(self) -> int:
        """The donation's DonationAlerts id, as a number for cursor comparisons."""
        return int(self.donation.upstream_id)


@dataclass(frozen=True)
class Rejected:
    """A payload that could not be read. Dead-letter it under :attr:`key`; the error says why.

    ``excerpt`` is the start of the offending payload (at most 1000 characters) for the dead-letter record.
    """

    error: Malformed
    via: Via
    excerpt: str = field(default="", repr=False)

    @property
    def upstream_id(self) -> int | None:
        """The donation's DonationAlerts id when it could be read (it counts for the cursor too)."""
        return int(self.error.upstream_id) if self.error.upstream_id is not None else None

    @property
    def key(self) -> str:
        """A stable key: the global donation id when the id could be read, else a hash of the payload."""
        if self.error.upstream_id is not None:
            return global_id(SOURCE, self.error.upstream_id)
        digest = hashlib.sha256(f"{self.error.reason}:{self.excerpt}".encode()).hexdigest()[:32]
        return f"{SOURCE}:unreadable-{digest}"


def excerpt_of(data: object) -> str:
    """The start of a payload as text, for dead-letter records and logs (never a whole huge message)."""
    if isinstance(data, bytes):
        text = data[: _EXCERPT_CHARS * 4].decode("utf-8", errors="backslashreplace")
    elif isinstance(data, str):
        text = data
    else:
        try:
            text = json.dumps(data, default=str, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = repr(data)
    return text[:_EXCERPT_CHARS]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> object:
    """Parse one JSON document from DonationAlerts, with exact decimals and bounded size.

    Raises :class:`Malformed` with reason ``too-large``, ``invalid-utf8`` or ``invalid-json``.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise Malformed(MalformedReason.TOO_LARGE, f"{size} bytes, more than the {max_bytes} bytes accepted")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed(MalformedReason.INVALID_UTF8, f"byte {exc.start} is not valid UTF-8") from exc
    else:
        text = data
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise Malformed(MalformedReason.INVALID_JSON, "nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, ints over Python's digit limit
        raise Malformed(MalformedReason.INVALID_JSON, str(exc)[:200]) from exc


def _wrong_type(name: str, expected: str, value: object) -> NoReturn:
    detail = f"expected {expected}, got {type(value).__name__}"
    raise Malformed(MalformedReason.WRONG_TYPE, detail, field=name)


def read_id(value: object, name: str = "id") -> int:
    """A DonationAlerts id: a positive JSON integer (a string of digits is accepted too)."""
    if isinstance(value, bool):
        _wrong_type(name, "an integer", value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS:
        number = int(value)
    elif value is None:
        raise Malformed(MalformedReason.MISSING_FIELD, "is null", field=name)
    else:
        _wrong_type(name, "an integer", value)
    if number <= 0:
        raise Malformed(MalformedReason.INVALID_VALUE, f"{number} is not a positive id", field=name)
    if number >= 10**_MAX_ID_DIGITS:  # as for a string of digits: 123 and "123" must read alike
        raise Malformed(MalformedReason.INVALID_VALUE, f"is beyond {_MAX_ID_DIGITS} digits", field=name)
    return number


def read_amount(value: object, name: str) -> Decimal:
    """An amount as an exact Decimal: from a JSON number's digits, or from a decimal string."""
    if isinstance(value, bool):
        _wrong_type(name, "a number", value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()):
        amount = Decimal(value.strip())
    elif isinstance(value, float):  # only when a caller bypassed decode_json; repr() is the exact shortest
        amount = Decimal(repr(value))
    elif value is None:
        raise Malformed(MalformedReason.MISSING_FIELD, "is null", field=name)
    else:
        _wrong_type(name, "a number", value)
    if not amount.is_finite():
        raise Malformed(MalformedReason.INVALID_VALUE, f"{value!r} is not a finite amount", field=name)
    if amount < 0:
        raise Malformed(MalformedReason.INVALID_VALUE, f"{amount} is negative", field=name)
    whole_limit = _MAX_AMOUNT_DIGITS - _MAX_AMOUNT_PLACES
    if amount and not -_MAX_AMOUNT_PLACES <= amount.adjusted() < whole_limit:  # before normalize() rounds it
        raise Malformed(
            MalformedReason.INVALID_VALUE,
            f"{value!r} is beyond {whole_limit} whole digits or {_MAX_AMOUNT_PLACES} decimal places",
            field=name,
        )
    try:  # 1E+3 -> 1000 and 500.0 -> 500; 22.50 -> 22.5
        amount = amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()
    except InvalidOperation as exc:
        raise Malformed(MalformedReason.INVALID_VALUE, f"{value!r} is too large", field=name) from exc
    _, digits, exponent = amount.as_tuple()
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    whole_digits = max(len(digits) - places, 0)
    if places > _MAX_AMOUNT_PLACES or whole_digits > _MAX_AMOUNT_DIGITS - _MAX_AMOUNT_PLACES:
        raise Malformed(
            MalformedReason.INVALID_VALUE,
            f"{amount} is beyond {_MAX_AMOUNT_DIGITS - _MAX_AMOUNT_PLACES} whole digits "
            f"or {_MAX_AMOUNT_PLACES} decimal places",
            field=name,
        )
    return amount


def read_currency(value: object, name: str = "currency") -> str:
    if value is None:
        raise Malformed(MalformedReason.MISSING_FIELD, "is null", field=name)
    if not isinstance(value, str):
        _wrong_type(name, "a string", value)
    if not _CURRENCY.fullmatch(value):  # not match(): "$" also matches before a final newline
        raise Malformed(MalformedReason.INVALID_VALUE, f"{value[:20]!r} is not an ISO 4217 code", field=name)
    return value.upper()


def read_timestamp(value: object, name: str = "created_at") -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` without a zone, read as UTC; an explicit offset is converted to UTC."""
    if value is None:
        raise Malformed(MalformedReason.MISSING_FIELD, "is null", field=name)
    if not isinstance(value, str):
        _wrong_type(name, "a string", value)
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError as exc:
        detail = f"{value[:40]!r} is not a timestamp"
        raise Malformed(MalformedReason.INVALID_VALUE, detail, field=name) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        detail = f"{value[:40]!r} is out of range in UTC"
        raise Malformed(MalformedReason.INVALID_VALUE, detail, field=name) from exc


def _optional_text(raw: Mapping[str, object], name: str) -> str | None:
    value = raw.get(name)
    if value is None or isinstance(value, str):
        return value
    _wrong_type(name, "a string or null", value)


def _normalise_text(text: str) -> str:
    # Pairs surrogates a caller left split, and turns a lone one (which no contract can encode) into U+FFFD.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _fit(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[: limit - len(TRUNCATION_MARK)].rstrip() + TRUNCATION_MARK, True


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(text: str | None) -> HttpUrl | None:
    """``text`` as an http(s) URL, or None when it is not one (the audio is then simply not linked)."""
    if not text or not text.strip().startswith(("https://", "http://")):
        return None
    try:
        return _HTTP_URL.validate_python(text.strip())
    except ValidationError:
        return None


def parse_donation(
    raw: object,
    *,
    received_at: datetime,
    user_currency: str | None = None,
    via: Via = "rest",
) -> DonationReceived:
    """Turn one DonationAlerts donation object (REST item or push ``data.data``) into the contract.

    ``received_at`` must be aware (it is the moment Ovation got it). ``user_currency`` is the streamer's main
    DonationAlerts currency, needed to keep ``amount_in_user_currency``. Raises :class:`Malformed`.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must carry a zone (UTC)")
    if not isinstance(raw, Mapping):
        _wrong_type("donation", "an object", raw)
    if "id" not in raw:
        raise Malformed(MalformedReason.MISSING_FIELD, "every donation has an id", field="id")
    upstream_id = str(read_id(raw["id"]))
    try:
        return _parse_known_id(raw, upstream_id, received_at, user_currency, via)
    except Malformed as exc:
        raise exc.with_upstream_id(upstream_id) from exc.__cause__
    except ValidationError as exc:  # the contract's own limits, e.g. an upstream id too long for it
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise Malformed(
            MalformedReason.INVALID_VALUE, first["msg"], field=where, upstream_id=upstream_id
        ) from exc


def _parse_known_id(
    raw: Mapping[str, object],
    upstream_id: str,
    received_at: datetime,
    user_currency: str | None,
    via: Via,
) -> DonationReceived:
    for required in ("amount", "currency", "created_at"):
        if required not in raw:
            raise Malformed(MalformedReason.MISSING_FIELD, "a donation needs it", field=required)
    amount = Money(amount=read_amount(raw["amount"], "amount"), currency=read_currency(raw["currency"]))
    created_at = read_timestamp(raw["created_at"])
    truncated: list[str] = []

    name = _normalise_text(_optional_text(raw, "username") or "")
    donor_name: str | None = None
    if name:
        donor_name, cut = _fit(" ".join(name.split()), MAX_NAME_CHARS)
        if cut:
            truncated.append("donor_name")

    message = _normalise_text(_optional_text(raw, "message") or "")
    kind = _optional_text(raw, "message_type") or MessageType.TEXT.value
    if kind not in {member.value for member in MessageType}:
        detail = f"{kind[:20]!r} is neither text nor audio"
        raise Malformed(MalformedReason.INVALID_VALUE, detail, field="message_type")
    message_type = MessageType(kind)
    audio_url: HttpUrl | None = None
    if message_type is MessageType.AUDIO:
        audio_url = _http_url(_optional_text(raw, "audio_url"))
        if audio_url is None:
            audio_url = _http_url(message)
            if audio_url is not None:
                message = ""
    message, cut = _fit(message, MAX_MESSAGE_CHARS)
    if cut:
        truncated.append("message")

    in_user_currency: Money | None = None
    ignored: list[str] = []
    converted = raw.get("amount_in_user_currency")
    if converted is not None and user_currency is not None:
        try:  # optional: an unreadable conversion is dropped, the donation still has its own amount
            in_user_currency = Money(
                amount=read_amount(converted, "amount_in_user_currency"),
                currency=read_currency(user_currency, "user currency"),
            )
        except Malformed:
            ignored.append("amount_in_user_currency")

    donation = Donation(
        id=global_id(SOURCE, upstream_id),
        source=SOURCE,
        upstream_id=upstream_id,
        donor_name=donor_name,
        message=message,
        message_type=message_type,
        audio_url=audio_url,
        amount=amount,
        amount_in_user_currency=in_user_currency,
        created_at=created_at,
        received_at=received_at,
        is_test=bool(raw.get("_is_test_alert")),
    )
    return DonationReceived(donation=donation, via=via, truncated=tuple(truncated), ignored=tuple(ignored))


@dataclass(frozen=True)
class DonationParser:
    """:func:`parse_donation` with its clock and the streamer's currency bound, as both clients use it.

    ``clock`` gives ``received_at`` (inject a fixed one in tests); ``user_currency`` is the streamer's main
    DonationAlerts currency when the service knows it (configuration), so ``amount_in_user_currency`` is kept.
    """

    clock: Callable[[], datetime] = utc_now
    user_currency: str | None = None

    def parse(self, raw: object, via: Via) -> DonationReceived | Rejected:
        """Never raises for bad input: a :class:`Rejected` carries the reason instead."""
        try:
            return parse_donation(raw, received_at=self.clock(), user_currency=self.user_currency, via=via)
        except Malformed as exc:
            return Rejected(error=exc, via=via, excerpt=excerpt_of(raw))

    def with_user_currency(self, currency: str | None) -> DonationParser:
        """This parser, using ``currency`` when none was configured."""
        if self.user_currency is not None or currency is None:
            return self
        return DonationParser(clock=self.clock, user_currency=currency)
