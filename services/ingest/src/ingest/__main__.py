"""``python -m ingest``: run the ingest service."""

from ovation_bus import serve

from .app import create_app
from .config import IngestSettings


def main() -> None:
    settings = IngestSettings()
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
