"""``python -m voice``: run the voice service."""

from ovation_bus import serve

from .app import create_app
from .config import VoiceServiceSettings


def main() -> None:
    settings = VoiceServiceSettings()
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
