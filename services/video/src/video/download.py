"""Fetching a finished video from the URL AIML gives, without letting that URL reach anything else.

- Only ``https`` URLs on an allow-listed host (``http`` to loopback only when a test setting says so); no user info.
- Every address the host resolves to is checked at connect time, inside the HTTP client's network backend, so DNS
  rebinding cannot slip a private address (10/8, 169.254/16, 127/8, ...) in after the check.
- Redirects are followed by hand, a few at most, and each target must pass the same checks.
- A declared or actual size over the cap, a slow transfer past the time cap, a content type that is not video, or a
  body that does not start with an MP4 ``ftyp`` box stops the transfer. Nothing is written to disk until the whole
  body has arrived within the limits.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpcore
import httpx

from .media import NotPlayable, check_mp4_header

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host name and port to the IP addresses to connect to."""

LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})
VIDEO_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/mp4"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


class DownloadError(Exception):
    """The video could not be fetched; ``str()`` says what and what to do."""


class DownloadRefused(DownloadError):
    """The URL, an address, a redirect, the size or the content broke the download policy."""


@dataclass(frozen=True, slots=True)
class DownloadPolicy:
    allowed_hosts: tuple[str, ...]
    allow_loopback_http: bool = False
    max_bytes: int = 100 * 1024 * 1024
    timeout: float = 120.0
    max_redirects: int = 3


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """``host`` is listed, or is a subdomain of a listed ``*.domain``."""
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern.strip("[]"):
            return True
    return False


def check_url(url: httpx.URL | str, policy: DownloadPolicy) -> httpx.URL:
    """``url`` when the policy allows fetching it; ``DownloadRefused`` with the reason otherwise."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else url
    except httpx.InvalidURL as exc:
        raise DownloadRefused(f"the video address is not a valid URL ({exc})") from exc
    host = parsed.host
    shown = f"{parsed.scheme}://{host}"
    loopback_http = policy.allow_loopback_http and parsed.scheme == "http" and host in LOOPBACK_NAMES
    if parsed.scheme != "https" and not loopback_http:
        raise DownloadRefused(f"the video address {shown} is not https; refused")
    if not host:
        raise DownloadRefused("the video address has no host")
    if parsed.userinfo:
        raise DownloadRefused(f"the video address {shown} carries a user name or password; refused")
    if not host_allowed(host, policy.allowed_hosts):
        raise DownloadRefused(
            f"the video host {host} is not in VIDEO_DOWNLOAD_ALLOWED_HOSTS ({', '.join(policy.allowed_hosts)}); "
            "add it there if AIML now serves videos from it"
        )
    return parsed


def address_allowed(address: str, policy: DownloadPolicy) -> bool:
    """Public unicast addresses only (loopback too, when the test setting allows it)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if policy.allow_loopback_http and ip.is_loopback:
        return True
    return ip.is_global and not ip.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves every host itself, refuses non-public addresses, and connects to the vetted address."""

    def __init__(self, policy: DownloadPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise DownloadError(f"the video host {host} does not resolve ({exc})") from exc
        refused = [a for a in addresses if not address_allowed(a, self.policy)]
        if refused or not addresses:
            raise DownloadRefused(
                f"the video host {host} resolves to a private or reserved address ({', '.join(refused) or 'none'}); "
                "refused"
            )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DownloadRefused("unix sockets are never used for downloads")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: _GuardedBackend) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=8,
            network_backend=backend,
        )


@dataclass(frozen=True, slots=True)
class Downloaded:
    data: bytes
    content_type: str
    url: str


class SafeDownloader:
    """Downloads videos under a ``DownloadPolicy``. One per service; safe to share between jobs."""

    def __init__(self, policy: DownloadPolicy, *, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self._http = httpx.AsyncClient(
            transport=_GuardedTransport(_GuardedBackend(policy, resolver)),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(min(30.0, policy.timeout)),
            # identity: the size cap counts the bytes on the wire, and a video is not worth compressing anyway
            headers={"Accept": "video/mp4,video/*;q=0.9,*/*;q=0.1", "Accept-Encoding": "identity"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch(self, url: str) -> Downloaded:
        """The whole body of ``url``, checked; ``DownloadRefused`` or ``DownloadError`` when it is not allowed or
        does not arrive."""
        try:
            async with asyncio.timeout(self.policy.timeout):
                return await self._fetch(url)
        except TimeoutError:
            raise DownloadError(
                f"the video did not arrive within {self.policy.timeout:g} s; raise VIDEO_DOWNLOAD_TIMEOUT "
                "if the connection is slow"
            ) from None
        except httpx.HTTPError as exc:
            raise DownloadError(f"the video download failed ({type(exc).__name__}: {exc})") from exc

    async def _fetch(self, url: str) -> Downloaded:
        target = check_url(url, self.policy)
        for _ in range(self.policy.max_redirects + 1):
            async with self._http.stream("GET", target) as response:
                if response.status_code in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise DownloadError(
                            f"the video host answered {response.status_code} without a Location"
                        )
                    target = check_url(target.join(location), self.policy)
                    log.info("video download redirected to %s", target.host)
                    continue
                if response.status_code != 200:
                    raise DownloadError(
                        f"the video host answered {response.status_code} {response.reason_phrase}; the video "
                        "link may have expired"
                    )
                return await self._read(response, str(target))
        raise DownloadRefused(
            f"the video download was redirected more than {self.policy.max_redirects} times"
        )

    async def _read(self, response: httpx.Response, url: str) -> Downloaded:
        limit = self.policy.max_bytes
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type and not (content_type.startswith("video/") or content_type in VIDEO_TYPES):
            raise DownloadRefused(f"the video host sent {content_type}, not a video")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise DownloadRefused(
                f"the video is {int(declared) / 1e6:.1f} MB, over VIDEO_DOWNLOAD_MAX_BYTES ({limit / 1e6:.1f} MB)"
            )
        body = bytearray()
        checked = False
        async for chunk in response.aiter_raw(CHUNK):
            body += chunk
            if len(body) > limit:
                raise DownloadRefused(
                    f"the video is over VIDEO_DOWNLOAD_MAX_BYTES ({limit / 1e6:.1f} MB); download stopped"
                )
            if not checked and len(body) >= 12:
                try:
                    check_mp4_header(bytes(body[:12]))
                except NotPlayable as exc:
                    raise DownloadRefused(f"the download is not a video: {exc}") from exc
                checked = True
        if not checked:
            raise DownloadRefused("the download is empty or too short to be a video")
        if declared is not None and declared.isdigit() and int(declared) != len(body):
            raise DownloadError(f"the video download was cut short ({len(body)} of {declared} bytes)")
        return Downloaded(data=bytes(body), content_type=content_type or "video/mp4", url=url)
