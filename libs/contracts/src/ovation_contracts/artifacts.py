"""References to stored artifacts (videos, audio clips, pictures). Messages carry the key, never the bytes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ArtifactKey = Annotated[
    str,
    Field(
        min_length=3,
        max_length=512,
        pattern=r"^[a-z0-9][a-z0-9_\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)+$",
        description="`<kind>/<name>`: relative, no `..`, no leading slash",
    ),
]


class ArtifactRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ArtifactKey
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+\-]+$")
    size_bytes: int = Field(ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    duration_ms: int | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, ge=1)
    height: int | None = Field(default=None, ge=1)
