"""``python -m gateway``: run the gateway (dashboard, widget pages, control API)."""

import sys

from pydantic import ValidationError

from ovation_bus import serve

from .app import create_app
from .config import GatewaySettings


def main() -> None:
    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        sys.exit(
            f"gateway: invalid settings ({problems}). Set OVATION_ADMIN_TOKEN (16+ characters) in your .env."
        )
    serve(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
