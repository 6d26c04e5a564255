"""Where videos, audio clips and pictures live: a local directory, or any S3 (SeaweedFS, MinIO, AWS).

Messages carry an ``ArtifactRef`` (its key), never the bytes. Keys are relative paths like ``video/<job>.mp4``;
anything that could escape the store (``..``, absolute paths, backslashes) is refused before any I/O.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ovation_contracts import ArtifactRef

_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)+$")


class UnsafeKey(ValueError):
    """The key could escape the store or is not of the form ``<kind>/<name>``."""


class ArtifactMissing(LookupError):
    pass


def safe_key(key: str) -> str:
    """``key`` itself when it is a safe relative ``<kind>/<name>`` path; ``UnsafeKey`` otherwise."""
    # fullmatch, not match: "$" also matches before a final newline ("video/x.mp4\n").
    if len(key) > 512 or not _KEY.fullmatch(key) or any(part in {".", ".."} for part in key.split("/")):
        raise UnsafeKey(f"not a safe artifact key: {key!r}")
    return key


def content_type_of(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class ArtifactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OVATION_", extra="ignore", env_ignore_empty=True)

    artifacts_backend: Literal["local", "s3"] = "local"
    artifacts_dir: Path | None = Field(default=None, description="Default: <data dir>/artifacts")
    data_dir: Path = Path(".ovation")
    artifacts_bucket: str = "ovation-artifacts"
    s3_endpoint_url: str = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None


class ArtifactStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str | None = None) -> ArtifactRef: ...
    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def keys(self, prefix: str = "") -> list[str]: ...


def _ref(key: str, data: bytes, content_type: str | None) -> ArtifactRef:
    return ArtifactRef(
        key=key,
        content_type=content_type or content_type_of(key),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


class LocalArtifactStore:
    """Files under ``root``; writes are atomic (a temporary file renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        path = (self.root / safe_key(key)).resolve()
        if self.root not in path.parents:
            raise UnsafeKey(f"not a safe artifact key: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> ArtifactRef:
        path = self.path(key)
        await asyncio.to_thread(self._write, path, data)
        return _ref(key, data, content_type)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise ArtifactMissing(key) from None

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def keys(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(
            k for k in found if k.startswith(prefix) and not k.rsplit("/", 1)[-1].startswith(".partial-")
        )


class S3ArtifactStore:
    """Objects in one bucket of any S3; boto3's blocking calls run in a worker thread."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket_ready = False

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError:
            await asyncio.to_thread(self.client.create_bucket, Bucket=self.bucket)
        self._bucket_ready = True

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> ArtifactRef:
        await self._ensure_bucket()
        ref = _ref(safe_key(key), data, content_type)
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=ref.content_type
        )
        return ref

    async def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=safe_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise ArtifactMissing(key) from None
            raise
        body: bytes = await asyncio.to_thread(response["Body"].read)
        return body

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=safe_key(key))
        except ClientError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=safe_key(key))

    async def keys(self, prefix: str = "") -> list[str]:
        await self._ensure_bucket()
        paginator = self.client.get_paginator("list_objects_v2")

        def collect() -> list[str]:
            return [
                o["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for o in page.get("Contents", [])
            ]

        return sorted(await asyncio.to_thread(collect))


def s3_client(settings: ArtifactSettings) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key.get_secret_value() if settings.s3_access_key else None,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
        config=Config(
            s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}
        ),
    )


def make_store(settings: ArtifactSettings | None = None) -> ArtifactStore:
    """The store the settings name: the local directory by default, S3 with ``OVATION_ARTIFACTS_BACKEND=s3``."""
    settings = settings or ArtifactSettings()
    if settings.artifacts_backend == "s3":
        return S3ArtifactStore(s3_client(settings), settings.artifacts_bucket)
    return LocalArtifactStore(settings.artifacts_dir or settings.data_dir / "artifacts")


__all__ = [
    "ArtifactMissing",
    "ArtifactSettings",
    "ArtifactStore",
    "LocalArtifactStore",
    "S3ArtifactStore",
    "UnsafeKey",
    "make_store",
    "safe_key",
]
