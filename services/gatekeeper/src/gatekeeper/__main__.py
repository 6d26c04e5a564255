"""``python -m gatekeeper``: run the gatekeeper (moderation, currencies, routing, approvals)."""

from ovation_bus import serve

from .app import create_app
from .config import GatekeeperSettings


def main() -> None:
    settings = GatekeeperSettings()
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
