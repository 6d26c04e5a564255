"""Both artifact stores behave the same; the S3 one against a real SeaweedFS with credentials."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import SecretStr

from ovation_artifacts import (
    ArtifactMissing,
    ArtifactSettings,
    LocalArtifactStore,
    S3ArtifactStore,
    UnsafeKey,
    make_store,
    safe_key,
)
from ovation_testing import S3Server

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalArtifactStore | S3ArtifactStore:
    if request.param == "local":
        return LocalArtifactStore(tmp_path / "artifacts")
    server: S3Server = request.getfixturevalue("s3_server")
    settings = ArtifactSettings(
        artifacts_backend="s3",
        artifacts_bucket=f"test-{tmp_path.name.lower().replace('_', '-')[:40]}",
        s3_endpoint_url=server.endpoint_url,
        s3_access_key=SecretStr(server.access_key),
        s3_secret_key=SecretStr(server.secret_key),
    )
    made = make_store(settings)
    assert isinstance(made, S3ArtifactStore)
    return made


@pytest.mark.s3
async def test_put_get_list_delete(store: LocalArtifactStore | S3ArtifactStore) -> None:
    ref = await store.put("video/donationalerts-1-video.mp4", MP4)
    assert ref.content_type == "video/mp4"
    assert ref.size_bytes == len(MP4)
    assert await store.get(ref.key) == MP4
    assert await store.exists(ref.key)
    await store.put("audio/clip-1.wav", b"RIFF")
    assert await store.keys("video/") == ["video/donationalerts-1-video.mp4"]
    await store.delete(ref.key)
    assert not await store.exists(ref.key)
    with pytest.raises(ArtifactMissing):
        await store.get(ref.key)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "video/../../x",
        "video",
        "video/",
        "video/..",
        "VIDEO/x",
        "video\\x",
        "a/.hidden",
    ],
)
def test_keys_that_could_escape_the_store_are_refused(key: str) -> None:
    with pytest.raises(UnsafeKey):
        safe_key(key)


async def test_local_store_never_writes_outside_its_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    with pytest.raises(UnsafeKey):
        await store.put("video/../../escape.mp4", MP4)
    assert not (tmp_path / "escape.mp4").exists()


@pytest.mark.s3
def test_the_s3_server_refuses_wrong_and_missing_credentials(s3_server: S3Server) -> None:
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    wrong = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="intruder",
        aws_secret_access_key="nope",
        config=config,
    )
    with pytest.raises(ClientError, match=r"InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch"):
        wrong.list_buckets()
