"""JSON Schema for every message (in its envelope) and every KV document, written to ``libs/contracts/schemas``,
with the AsyncAPI document of the bus (``asyncapi.json``) that points at them.

``python -m ovation_contracts.schemas`` rewrites the committed files; a test fails when they drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import PAYLOAD_TYPES, SETTINGS_DOCUMENTS, Envelope, asyncapi

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every payload type and settings document."""
    schemas: dict[str, dict[str, Any]] = {}
    for type_name, model in sorted(PAYLOAD_TYPES.items()):
        schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = f"{type_name} (v{model.SCHEMA_VERSION})"
        schema["$id"] = f"https://ovation.invalid/schemas/messages/{type_name}.json"
        schemas[f"messages/{type_name}.json"] = schema
    for document in SETTINGS_DOCUMENTS:
        schema = document.model_json_schema()
        schema["$id"] = f"https://ovation.invalid/schemas/settings/{document.KEY}.json"
        schemas[f"settings/{document.KEY}.json"] = schema
    schemas["asyncapi.json"] = asyncapi.document()
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(target: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for name, schema in all_schemas().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)  # noqa: T201
