"""Personas from a manifest: validated by the contract model; a new voice is its files plus one manifest entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from voice.audio import wav_info
from voice.personas import BUNDLED, PersonaBook, PersonaError

from ovation_contracts import PersonaManifest


def test_the_bundled_personas_are_labelled_placeholders_with_short_16_khz_clips(
    personas: PersonaBook,
) -> None:
    assert set(personas.ids) == {"nova", "baron", "sasha"}
    assert personas.problems == ()
    for voice in personas.voices.values():
        assert voice.persona.placeholder
        assert "PLACEHOLDER" in voice.persona.consent
        info = wav_info((BUNDLED / voice.persona.reference_audio).read_bytes())
        assert (info.sample_rate, info.channels, info.bits) == (16_000, 1, 16)
        assert 2_000 <= info.duration_ms <= 8_000
        assert voice.script


def test_script_lines_carry_their_speaker(personas: PersonaBook) -> None:
    lines = personas.script_of(personas.host(["nova"]))
    assert lines[0].persona == "nova"
    assert any(line.persona == "baron" for line in lines)
    assert not any(line.text.startswith(("[", "#")) for line in lines)


def test_hosts_and_job_personas(personas: PersonaBook) -> None:
    assert personas.host([]).id == "nova"
    assert personas.host(["unknown", "baron"]).id == "baron"
    assert personas.for_job("Sasha", None, ["nova"]).id == "sasha"
    assert personas.for_job(None, "ru", ["nova"]).id == "nova"  # only nova is in the show
    assert personas.for_job(None, "ru", ["nova", "sasha"]).id == "sasha"
    assert personas.for_job("nobody", None, []).id == "nova"


def copy_personas(tmp_path: Path) -> Path:
    folder = tmp_path / "personas"
    shutil.copytree(BUNDLED, folder)
    return folder


def test_adding_a_persona_is_its_files_and_one_manifest_entry(tmp_path: Path) -> None:
    folder = copy_personas(tmp_path)
    (folder / "mira").mkdir()
    shutil.copy(folder / "nova" / "reference.wav", folder / "mira" / "voice.wav")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["personas"].append(
        {
            "id": "mira",
            "display_name": "Mira",
            "language": "en",
            "reference_audio": "mira/voice.wav",
            "reference_transcript": "Hi everyone, I am Nova, a placeholder voice made with a speech synthesizer.",
            "scene_description": "A calm voice in a quiet room.",
            "speaking_style": "Calm.",
            "consent": "test voice",
        }
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    book = PersonaBook.load(folder)
    assert "mira" in book.ids and book.problems == ()
    assert book.get("mira") is not None and book.get("mira").script == ()  # type: ignore[union-attr]


def test_a_persona_with_a_missing_file_is_left_out_with_the_reason(tmp_path: Path) -> None:
    folder = copy_personas(tmp_path)
    (folder / "baron" / "reference.wav").unlink()
    book = PersonaBook.load(folder)
    assert "baron" not in book.ids and "nova" in book.ids
    assert "baron" in book.problems[0] and "reference.wav" in book.problems[0]


def test_an_invalid_manifest_stops_the_start_with_what_to_fix(tmp_path: Path) -> None:
    folder = copy_personas(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["personas"][0]["reference_audio"] = "../../etc/passwd.wav"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PersonaError, match=r"manifest.json is invalid: personas\.0\.reference_audio"):
        PersonaBook.load(folder)
    with pytest.raises(PersonaError, match="VOICE_PERSONAS_DIR"):
        PersonaBook.load(tmp_path / "nowhere")


def test_the_manifest_model_refuses_duplicates_and_an_unknown_default() -> None:
    raw = json.loads((BUNDLED / "manifest.json").read_text())
    raw["personas"].append(raw["personas"][0])
    with pytest.raises(ValidationError, match="repeated: nova"):
        PersonaManifest.model_validate(raw)
    raw["personas"].pop()
    raw["default_persona"] = "ghost"
    with pytest.raises(ValidationError, match="'ghost' is not one of the personas"):
        PersonaManifest.model_validate(raw)
