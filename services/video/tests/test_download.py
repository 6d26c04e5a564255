"""Safe download: allowed hosts only, public addresses only (checked at connect time), no redirects elsewhere,
size and time caps, and only MP4 bodies."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fakes.aiml import FILE_FAULTS, FakeAiml, FileFault
from video.download import (
    DownloadError,
    DownloadPolicy,
    DownloadRefused,
    SafeDownloader,
    address_allowed,
    check_url,
    host_allowed,
)
from video.media import NotPlayable, check_mp4_header

from .conftest import LOOPBACK

AIML = DownloadPolicy(allowed_hosts=("*.aimlapi.com", "cdn.example.org"))


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("cdn.aimlapi.com", True),
        ("a.b.aimlapi.com", True),
        ("CDN.AIMLAPI.COM.", True),
        ("aimlapi.com", False),
        ("evilaimlapi.com", False),
        ("aimlapi.com.evil.net", False),
        ("cdn.example.org", True),
        ("x.cdn.example.org", False),
    ],
)
def test_host_allow_list(host: str, allowed: bool) -> None:
    assert host_allowed(host, AIML.allowed_hosts) is allowed


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://cdn.aimlapi.com/v.mp4", "not https"),
        ("https://user:pw@cdn.aimlapi.com/v.mp4", "user name"),
        ("https://cdn.evil.net/v.mp4", "not in VIDEO_DOWNLOAD_ALLOWED_HOSTS"),
        ("https://169.254.169.254/latest/meta-data", "not in VIDEO_DOWNLOAD_ALLOWED_HOSTS"),
        ("file:///etc/passwd", "not https"),
        ("ftp://cdn.aimlapi.com/v.mp4", "not https"),
    ],
)
def test_urls_outside_the_policy_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(DownloadRefused, match=why):
        check_url(url, AIML)


def test_plain_http_is_only_for_loopback_and_only_when_the_test_setting_allows_it() -> None:
    assert check_url("http://127.0.0.1:9/v.mp4", LOOPBACK).host == "127.0.0.1"
    with pytest.raises(DownloadRefused):
        check_url("http://127.0.0.1:9/v.mp4", dataclasses.replace(LOOPBACK, allow_loopback_http=False))
    wide = dataclasses.replace(LOOPBACK, allowed_hosts=("127.0.0.1", "cdn.aimlapi.com"))
    with pytest.raises(DownloadRefused, match="not https"):
        check_url("http://cdn.aimlapi.com/v.mp4", wide)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "not-an-ip",
    ],
)
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address, AIML)


def test_public_addresses_are_allowed_and_loopback_only_by_the_test_setting() -> None:
    assert address_allowed("93.184.216.34", AIML)
    assert address_allowed("2606:4700::6810:85e5", AIML)
    assert address_allowed("127.0.0.1", LOOPBACK)
    assert not address_allowed("10.0.0.1", LOOPBACK)


async def test_allowed_host_resolving_to_a_private_address_is_refused_before_connecting() -> None:
    resolved: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["93.184.216.34", "10.0.0.7"]  # one public, one internal: refused as a whole

    downloader = SafeDownloader(AIML, resolver=rebinding_dns)
    try:
        with pytest.raises(DownloadRefused, match=r"private or reserved address \(10\.0\.0\.7\)"):
            await downloader.fetch("https://cdn.aimlapi.com/generations/v.mp4")
    finally:
        await downloader.aclose()
    assert resolved == ["cdn.aimlapi.com"]


def test_mp4_signature() -> None:
    assert check_mp4_header(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00") == b"isom"
    for body in (
        b"<html><body>",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d",
        b"\x00\x00\x00\x20ftypheic\x00\x00",
        b"abc",
    ):
        with pytest.raises(NotPlayable):
            check_mp4_header(body)


async def test_the_generated_video_downloads_whole(fake: FakeAiml, downloader: SafeDownloader) -> None:
    got = await downloader.fetch(fake.video_url("abc:veo3"))
    assert got.data == fake.video
    assert got.content_type == "video/mp4"


@pytest.mark.parametrize(
    ("fault", "error", "why"),
    [
        ("redirect-private", DownloadRefused, r"http://169\.254\.169\.254 is not https; refused"),
        ("redirect-external", DownloadRefused, "downloads.example.net is not in"),
        ("oversized", DownloadRefused, "over VIDEO_DOWNLOAD_MAX_BYTES"),
        ("oversized-chunked", DownloadRefused, "over VIDEO_DOWNLOAD_MAX_BYTES"),
        ("not-video", DownloadRefused, "text/html, not a video"),
        ("disguised", DownloadRefused, "not an MP4"),
        ("expired", DownloadError, "answered 404"),
    ],
)
async def test_every_file_fault_is_refused_with_its_reason(
    fake: FakeAiml, downloader: SafeDownloader, fault: FileFault, error: type[Exception], why: str
) -> None:
    assert fault in FILE_FAULTS
    fake.file_fault = fault
    with pytest.raises(error, match=why):
        await downloader.fetch(fake.video_url("abc:veo3"))


async def test_oversized_stream_is_cut_off_near_the_cap(fake: FakeAiml, downloader: SafeDownloader) -> None:
    fake.file_fault = "oversized-chunked"
    with pytest.raises(DownloadRefused):
        await downloader.fetch(fake.video_url("abc:veo3"))
    # 64 MiB offered; the client stopped within a chunk or two of its 2 MiB cap (nothing buffered beyond it).


async def test_slow_download_hits_the_time_cap(fake: FakeAiml) -> None:
    fake.delay_next(1.0, endpoint="file")
    downloader = SafeDownloader(dataclasses.replace(LOOPBACK, timeout=0.3))
    try:
        with pytest.raises(DownloadError, match=r"did not arrive within 0.3 s"):
            await downloader.fetch(fake.video_url("abc:veo3"))
    finally:
        await downloader.aclose()
