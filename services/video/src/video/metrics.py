"""Prometheus metrics of the video service (served on ``/metrics`` with the bus metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter(
    "ovation_video_jobs_total",
    "Video jobs finished, by final state and fallback reason",
    ["state", "reason"],
)
SUBMISSIONS = Counter("ovation_video_aiml_submissions_total", "Generations AIML accepted (each one is paid)")
GENERATION_SECONDS = Histogram(
    "ovation_video_generation_seconds",
    "From AIML accepting a generation to its video being stored",
    buckets=(10, 30, 60, 90, 120, 180, 300, 600, 900, 1800),
)
CARD_SECONDS = Histogram(
    "ovation_video_card_render_seconds",
    "Time to render the offline celebration card",
    buckets=(0.5, 1, 2, 3, 5, 8, 13, 20, 30),
)
DOWNLOAD_BYTES = Counter("ovation_video_download_bytes_total", "Bytes of generated videos downloaded")
