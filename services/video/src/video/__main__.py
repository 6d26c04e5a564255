"""``python -m video``: run the video service."""

from ovation_bus import serve

from .app import create_app
from .config import VideoServiceSettings


def main() -> None:
    settings = VideoServiceSettings()
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
