"""DonationAlerts OAuth against the fake: authorize URL, code exchange, refresh, and a token that stays fresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ingest.donationalerts import (
    SCOPES,
    AuthorizationRejected,
    DonationAlertsApi,
    OAuthApp,
    RefreshingToken,
    TokenSet,
    Unauthorized,
    authorize_url,
    exchange_code,
    new_state,
    refresh_tokens,
    state_matches,
)
from tests.fakes.donationalerts import FakeDonationAlerts

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


async def consent(http: httpx.AsyncClient, app: OAuthApp, state: str) -> dict[str, list[str]]:
    """The streamer's browser: open the authorize URL, follow DonationAlerts' redirect back to us."""
    response = await http.get(authorize_url(app, state), follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(app.redirect_uri + "?")
    return parse_qs(urlsplit(location).query)


def test_authorize_url_asks_for_every_scope_with_state() -> None:
    app = OAuthApp(client_id="42", client_secret="s3cret", redirect_uri="http://localhost:8080/cb")
    url = authorize_url(app, "xyz")
    assert url.startswith("https://www.donationalerts.com/oauth/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": ["42"],
        "redirect_uri": ["http://localhost:8080/cb"],
        "response_type": ["code"],
        "scope": ["oauth-user-show oauth-donation-subscribe oauth-donation-index"],
        "state": ["xyz"],
    }
    assert "scope=oauth-user-show%20oauth-donation-subscribe%20oauth-donation-index" in url
    assert "s3cret" not in url


def test_authorize_url_refuses_an_empty_state() -> None:
    app = OAuthApp(client_id="42", client_secret="s", redirect_uri="http://localhost/cb")
    with pytest.raises(ValueError, match="state"):
        authorize_url(app, "")


def test_state_is_unguessable_and_compared_exactly() -> None:
    first, second = new_state(), new_state()
    assert first != second
    assert len(first) >= 40
    assert state_matches(first, first)
    assert not state_matches(first, second)
    assert not state_matches(first, None)
    assert not state_matches(None, first)


def test_token_set_never_shows_its_tokens() -> None:
    tokens = TokenSet(access_token="AAA-secret", refresh_token="RRR-secret", expires_at=NOW)
    assert "secret" not in repr(tokens)
    assert TokenSet.from_dict(tokens.to_dict()) == tokens


async def test_code_exchange_gives_tokens_that_work(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    state = new_state()
    query = await consent(http, oauth_app, state)
    assert query["state"] == [state]
    tokens = await exchange_code(http, oauth_app, query["code"][0], now=lambda: NOW)
    assert tokens.token_type == "Bearer"
    assert tokens.expires_at == NOW + timedelta(seconds=3600)
    assert tokens.refresh_token
    form = fake.token_forms[-1]
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == oauth_app.redirect_uri
    async with DonationAlertsApi(tokens.access_token, base_url=fake.base_url, http=http) as api:
        assert (await api.user()).id == fake.user_id


async def test_a_code_works_once(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    code = (await consent(http, oauth_app, new_state()))["code"][0]
    await exchange_code(http, oauth_app, code)
    with pytest.raises(AuthorizationRejected, match="reconnect DonationAlerts from the dashboard") as caught:
        await exchange_code(http, oauth_app, code)
    assert caught.value.error == "invalid_grant"


async def test_wrong_client_secret_says_to_check_the_settings(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    code = (await consent(http, oauth_app, new_state()))["code"][0]
    wrong = OAuthApp(oauth_app.client_id, "not-the-secret", oauth_app.redirect_uri, base_url=fake.base_url)
    with pytest.raises(AuthorizationRejected, match="client id and secret") as caught:
        await exchange_code(http, wrong, code)
    assert "not-the-secret" not in str(caught.value)


async def test_refresh_sends_the_same_scopes_and_rotates_tokens(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    code = (await consent(http, oauth_app, new_state()))["code"][0]
    first = await exchange_code(http, oauth_app, code)
    assert first.refresh_token is not None
    second = await refresh_tokens(http, oauth_app, first.refresh_token, now=lambda: NOW)
    assert fake.token_forms[-1]["scope"] == " ".join(SCOPES)
    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    with pytest.raises(AuthorizationRejected):  # the old refresh token was used up
        await refresh_tokens(http, oauth_app, first.refresh_token)


async def test_refresh_without_a_new_refresh_token_keeps_the_old_one(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    fake.refresh_keeps_refresh_token = True
    access = fake.issue_token()
    refresh = fake.refresh_token_for(access)
    assert refresh is not None
    fresh = await refresh_tokens(http, oauth_app, refresh)
    assert fresh.refresh_token == refresh


async def test_refreshing_token_refreshes_before_expiry_and_reports_it(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    access = fake.issue_token()
    clock = [NOW]
    tokens = TokenSet(access, fake.refresh_token_for(access), expires_at=NOW + timedelta(minutes=30))
    saved: list[TokenSet] = []

    async def save(new: TokenSet) -> None:
        saved.append(new)

    source = RefreshingToken(oauth_app, tokens, http, on_refreshed=save, now=lambda: clock[0])
    assert await source.access_token() == access
    assert fake.requests["token"] == 0
    clock[0] = NOW + timedelta(minutes=26)  # within the 5-minute margin
    fresh = await source.access_token()
    assert fresh != access
    assert saved == [source.tokens]
    assert fake.requests["token"] == 1


async def test_api_refreshes_once_after_a_401_and_retries(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    access = fake.issue_token()
    tokens = TokenSet(
        access, fake.refresh_token_for(access), expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    source = RefreshingToken(oauth_app, tokens, http)
    fake.expire_tokens()  # DonationAlerts expired it earlier than expires_in said
    async with DonationAlertsApi(source, base_url=fake.base_url, http=http) as api:
        user = await api.user()
    assert user.id == fake.user_id
    assert fake.requests["user"] == 2
    assert fake.requests["token"] == 1
    assert source.tokens.access_token != access


async def test_revoked_grant_surfaces_as_unauthorized(
    fake: FakeDonationAlerts, http: httpx.AsyncClient, oauth_app: OAuthApp
) -> None:
    access = fake.issue_token()
    tokens = TokenSet(
        access, fake.refresh_token_for(access), expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    fake.revoke_grants()
    async with DonationAlertsApi(RefreshingToken(oauth_app, tokens, http), base_url=fake.base_url) as api:
        with pytest.raises(Unauthorized, match="reconnect DonationAlerts from the dashboard"):
            await api.user()
