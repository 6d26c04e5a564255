"""Properties of artifact keys: whatever string arrives, ``safe_key`` either refuses it or returns a relative
``<kind>/<name>`` path that cannot leave the store, and the key a message carries means the same file everywhere."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ovation_artifacts import LocalArtifactStore, UnsafeKey, safe_key
from ovation_contracts.artifacts import ArtifactKey
from tests.properties import reproducible

PROPERTY = reproducible(max_examples=200)
CONTRACT_KEY: TypeAdapter[str] = TypeAdapter(ArtifactKey)
VALID_KEY = r"[a-z0-9][a-z0-9_\-]{0,8}(/[A-Za-z0-9][A-Za-z0-9._\-]{0,12}){1,3}"

# Pieces an attacker (or a bug) would put into a key: traversal, absolute paths, other separators, control bytes.
hostile_parts = st.sampled_from(
    [
        "..",
        ".",
        "",
        "video",
        "x.mp4",
        "~",
        "\\",
        "..\\..",
        "/etc",
        "C:",
        "a\x00b",
        "\n",
        "\r",
        "\t",
        "%2e%2e",
        "ü",
    ]
)
hostile_keys = st.lists(
    st.one_of(hostile_parts, st.from_regex(VALID_KEY, fullmatch=True)), max_size=5
).flatmap(
    lambda parts: st.sampled_from(["/", "\\", "/./", "//"]).map(lambda separator: separator.join(parts))
)
valid_keys = st.from_regex(VALID_KEY, fullmatch=True)
any_keys = st.one_of(st.text(max_size=30), hostile_keys, valid_keys, valid_keys.map(lambda key: key + "\n"))


def accepted(key: str) -> bool:
    try:
        assert safe_key(key) == key
    except UnsafeKey:
        return False
    return True


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path_factory.mktemp("artifacts"))


@PROPERTY
@given(key=any_keys)
@example(key="video/clip.mp4\n")
@example(key="video/..")
@example(key="video/x\\..\\..\\etc")
def test_an_accepted_key_is_a_plain_relative_path(key: str) -> None:
    if not accepted(key):
        return
    assert len(key) <= 512
    assert not PurePosixPath(key).is_absolute()
    assert not key.startswith(("/", "~"))
    parts = key.split("/")
    assert len(parts) >= 2
    assert not {"", ".", ".."} & set(parts)
    assert "\\" not in key
    assert key.isascii()
    assert key.isprintable()  # no NUL, newline or other control character
    assert not re.search(r"\s", key)


@PROPERTY
@given(key=any_keys)
@example(key="video/clip.mp4\n")
def test_the_library_and_the_contract_accept_the_same_keys(key: str) -> None:
    """A key ``safe_key`` accepts is one an ``ArtifactRef`` can carry, and the other way round."""
    try:
        CONTRACT_KEY.validate_python(key)
    except ValidationError:
        in_contract = False
    else:
        in_contract = True
    assert accepted(key) == in_contract


@PROPERTY
@given(key=any_keys)
@example(key="video/../../etc/passwd")
@example(key="video/clip.mp4\n")
def test_the_local_path_never_leaves_the_store(store: LocalArtifactStore, key: str) -> None:
    try:
        path = store.path(key)
    except UnsafeKey:
        assert not accepted(key)
        return
    assert accepted(key)
    assert path.resolve().is_relative_to(store.root)
    assert path != store.root
    assert path.relative_to(store.root).as_posix() == key


@PROPERTY
@given(key=valid_keys)
def test_a_valid_key_is_accepted_unchanged(key: str) -> None:
    assert safe_key(key) == key
    assert CONTRACT_KEY.validate_python(key) == key


@settings(PROPERTY, max_examples=40)
@given(key=valid_keys, data=st.binary(max_size=64))
def test_a_valid_key_round_trips_through_the_local_store(
    store: LocalArtifactStore, key: str, data: bytes
) -> None:
    async def round_trip() -> None:
        if store.path(key).is_dir():  # an earlier example's "a/b/c" left the directory "a/b"
            return
        ref = await store.put(key, data)
        assert ref.key == key
        assert ref.size_bytes == len(data)
        assert await store.get(key) == data
        assert key in await store.keys()
        assert key in await store.keys(key.split("/", 1)[0] + "/")
        await store.delete(key)
        assert not await store.exists(key)

    asyncio.run(round_trip())


def test_a_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "video").symlink_to(outside, target_is_directory=True)
    store = LocalArtifactStore(root)
    with pytest.raises(UnsafeKey):
        store.path("video/clip.mp4")
