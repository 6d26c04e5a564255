"""What can go wrong talking to DonationAlerts, as types the ingest service can act on.

Every message says what failed and what to do about it, and never contains a token or a client secret.
"""

from __future__ import annotations

from enum import StrEnum


class DonationAlertsError(Exception):
    """Base of every error this client raises."""


class Unauthorized(DonationAlertsError):
    """DonationAlerts refused the access token (HTTP 401). Retrying with the same token will not help."""

    def __init__(self, message: str | None = None, *, status: int = 401) -> None:
        self.status = status
        super().__init__(
            message
            or f"DonationAlerts refused the access token ({status}): "
            "reconnect DonationAlerts from the dashboard"
        )


class Forbidden(Unauthorized):
    """The token is valid but lacks a scope the call needs (HTTP 403)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"DonationAlerts refused {what} (403): the token lacks a scope Ovation needs; "
            "reconnect DonationAlerts from the dashboard and grant every permission it asks for",
            status=403,
        )


class AuthorizationRejected(Unauthorized):
    """The OAuth token endpoint refused a code or a refresh token: the streamer has to connect again."""

    def __init__(self, grant: str, status: int, error: str | None) -> None:
        self.grant = grant
        self.error = error
        if error == "invalid_client":
            advice = "check the DonationAlerts application's client id and secret in Ovation's settings"
        else:
            advice = "reconnect DonationAlerts from the dashboard"
        shown = f" ({error})" if error else ""
        super().__init__(
            f"DonationAlerts refused the {grant} grant{shown}, HTTP {status}: {advice}",
            status=status,
        )


class RateLimited(DonationAlertsError):
    """DonationAlerts answered 429. ``retry_after`` is how long to wait, in seconds."""

    def __init__(self, retry_after: float, what: str) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"DonationAlerts rate-limited {what} (429): Ovation waits {retry_after:g} s before its next "
            "request; if this repeats, another program is using the same DonationAlerts application"
        )


class UpstreamError(DonationAlertsError):
    """DonationAlerts failed (HTTP 5xx) or answered with a status this client does not expect."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class Unreachable(UpstreamError):
    """DonationAlerts could not be reached at all: connection refused, DNS, TLS or a timeout."""

    def __init__(self, what: str, cause: str) -> None:
        super().__init__(
            f"Could not reach DonationAlerts for {what} ({cause}): "
            "check the network; Ovation retries by itself"
        )


class RequestRejected(DonationAlertsError):
    """DonationAlerts answered 4xx (other than 401/403/429): the request itself was wrong."""

    def __init__(self, what: str, status: int, body_excerpt: str) -> None:
        self.status = status
        self.body_excerpt = body_excerpt
        super().__init__(
            f"DonationAlerts rejected {what} (HTTP {status}: {body_excerpt!r}): this is a bug in Ovation, "
            "please report it with this message"
        )


class RealtimeError(DonationAlertsError):
    """The Centrifugo websocket answered a command with an error, or broke its protocol."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class MalformedReason(StrEnum):
    """Why a payload from DonationAlerts could not be read."""

    INVALID_UTF8 = "invalid-utf8"
    INVALID_JSON = "invalid-json"
    TOO_LARGE = "too-large"
    MISSING_FIELD = "missing-field"
    WRONG_TYPE = "wrong-type"
    INVALID_VALUE = "invalid-value"


class Malformed(DonationAlertsError):
    """DonationAlerts sent something this client cannot read; ``reason`` and ``field`` say what.

    ``upstream_id`` is the donation's id when it could be read, so the payload can be dead-lettered under it.
    """

    def __init__(
        self,
        reason: MalformedReason,
        detail: str,
        *,
        field: str | None = None,
        upstream_id: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.field = field
        self.upstream_id = upstream_id
        where = f" field {field!r}" if field else ""
        which = f" (donation {upstream_id})" if upstream_id else ""
        super().__init__(
            f"DonationAlerts sent a payload Ovation cannot read{which}: {reason}{where}: {detail}. "
            "Nothing to fix on your side; if it repeats, DonationAlerts changed its format "
            "and Ovation needs an update"
        )

    def with_upstream_id(self, upstream_id: str | None) -> Malformed:
        """The same error, naming the donation it was found in."""
        if upstream_id is None or upstream_id == self.upstream_id:
            return self
        return Malformed(self.reason, self.detail, field=self.field, upstream_id=upstream_id)
