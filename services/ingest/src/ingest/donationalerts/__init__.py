"""The DonationAlerts client: OAuth, the REST API v1, the Centrifugo realtime channel, and normalisation.

Typical use (the service owns storage of tokens and the cursor, and publishing)::

    api = DonationAlertsApi(RefreshingToken(app, tokens, http, on_refreshed=save_tokens), http=http)
    realtime = DonationAlertsRealtime(api, DonationParser(user_currency="RUB"))
    async with contextlib.aclosing(realtime.events()) as events:
        async for event in events:
            if isinstance(event, Connected):
                catch_up = await api.donations_since(cursor, parser)   # then publish catch_up.items in order
            elif isinstance(event, DonationReceived | Rejected):
                ...                                                   # publish, or dead-letter
"""

from .errors import (
    AuthorizationRejected,
    DonationAlertsError,
    Forbidden,
    Malformed,
    MalformedReason,
    RateLimited,
    RealtimeError,
    RequestRejected,
    Unauthorized,
    Unreachable,
    UpstreamError,
)
from .oauth import (
    DEFAULT_BASE_URL,
    SCOPES,
    OAuthApp,
    RefreshingToken,
    StaticToken,
    TokenSet,
    TokenSource,
    authorize_url,
    exchange_code,
    new_state,
    refresh_tokens,
    state_matches,
)
from .parse import DonationParser, DonationReceived, Rejected, decode_json, parse_donation
from .realtime import (
    DEFAULT_WS_URL,
    Backoff,
    Connected,
    Disconnected,
    DonationAlertsRealtime,
    RealtimeEvent,
)
from .rest import CatchUp, DonationAlertsApi, DonationAlertsUser, DonationsPage, RateLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_WS_URL",
    "SCOPES",
    "AuthorizationRejected",
    "Backoff",
    "CatchUp",
    "Connected",
    "Disconnected",
    "DonationAlertsApi",
    "DonationAlertsError",
    "DonationAlertsRealtime",
    "DonationAlertsUser",
    "DonationParser",
    "DonationReceived",
    "DonationsPage",
    "Forbidden",
    "Malformed",
    "MalformedReason",
    "OAuthApp",
    "RateLimited",
    "RateLimiter",
    "RealtimeError",
    "RealtimeEvent",
    "RefreshingToken",
    "Rejected",
    "RequestRejected",
    "StaticToken",
    "TokenSet",
    "TokenSource",
    "Unauthorized",
    "Unreachable",
    "UpstreamError",
    "authorize_url",
    "decode_json",
    "exchange_code",
    "new_state",
    "parse_donation",
    "refresh_tokens",
    "state_matches",
]
