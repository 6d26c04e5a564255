"""Painter benchmark: the window's frame time with the full HUD at 60 FPS, and the CPU it takes while drawing.

Prints one JSON object. Runs the real renderer (``painter.window.StageRenderer``: animation, canvas upload,
HUD) into a 1920x1080 display under SDL's dummy video driver, paced by ``pygame.time.Clock`` at 60 FPS, while
a drawing animates in real time: an offline planner's drawing (typical) and Draw Stream's reference plan
(the heaviest sample there is). Frame time is the render and flip of one frame; CPU share is the process's
CPU time over wall time, as a share of one core.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from ovation_contracts import PainterPhase
from ovation_contracts.canvas import CanvasPlan
from painter.board import Board, Request, Showing, StageView
from painter.planner import OfflinePlanner
from painter.timeline import build_timeline
from painter.window import StageRenderer, WindowOptions

SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
WIDTH, HEIGHT, FPS = 1920, 1080, 60
REFERENCE = (
    Path(__file__).resolve().parents[1] / "services/painter/tests/data/drawstream_aurora_cabin_plan.json"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(screen: pygame.Surface, plan: CanvasPlan) -> dict[str, float]:
    timeline = build_timeline(plan)
    # the drawing is stretched over the run, so every frame animates something
    time_scale = max(0.05, timeline.duration_ms / 1000 / SECONDS)
    started = time.monotonic()
    upcoming = tuple(Request(f"j{n}", f"Donor {n}", "300 RUB", f"request number {n}") for n in range(5))
    board = Board(
        StageView(
            now=Request("j0", "Ivan", "500 RUB", "a cat in space, please, with stars all around"),
            phase=PainterPhase.DRAWING,
            showing=Showing("bench#1", timeline, started_at=started, time_scale=time_scale),
            upcoming=upcoming,
            waiting=12,
        )
    )
    renderer = StageRenderer(board, WindowOptions(width=WIDTH, height=HEIGHT))
    renderer.render(screen, started)  # the first frame builds the static chrome and the fonts
    clock = pygame.time.Clock()
    frames: list[float] = []
    cpu_start, wall_start = time.process_time(), time.monotonic()
    while time.monotonic() - wall_start < SECONDS:
        pygame.event.pump()
        begin = time.perf_counter()
        dirty = renderer.render(screen, time.monotonic(), clock.get_fps())
        if dirty is None:
            pygame.display.flip()
        else:
            pygame.display.update(dirty)
        frames.append((time.perf_counter() - begin) * 1000)
        clock.tick(FPS)
    wall = time.monotonic() - wall_start
    cpu = time.process_time() - cpu_start
    return {
        "frames": len(frames),
        "fps": round(len(frames) / wall, 1),
        "frame_ms_p50": round(percentile(frames, 0.50), 3),
        "frame_ms_p99": round(percentile(frames, 0.99), 3),
        "frame_ms_max": round(max(frames), 3),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "drawing_steps": len(timeline.reveals),
        "drawing_pixels": sum(len(reveal.pixels) for reveal in timeline.reveals),
    }


def main() -> dict[str, object]:
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((WIDTH, HEIGHT))
    planner = OfflinePlanner()
    plan_times = []
    for seed in range(20):
        begin = time.perf_counter()
        typical = planner.plan("a cat in space", seed=seed)
        plan_times.append((time.perf_counter() - begin) * 1000)
    begin = time.perf_counter()
    build_timeline(typical)
    timeline_ms = (time.perf_counter() - begin) * 1000
    reference = CanvasPlan.model_validate_json(REFERENCE.read_bytes())
    result = {
        "bench": "painter",
        "window": f"{WIDTH}x{HEIGHT}",
        "target_fps": FPS,
        "seconds_per_run": SECONDS,
        "video_driver": os.environ["SDL_VIDEODRIVER"],
        "python": platform.python_version(),
        "pygame": pygame.version.ver,
        "offline_plan_ms_p50": round(statistics.median(plan_times), 3),
        "timeline_build_ms": round(timeline_ms, 3),
        "typical_drawing": run(screen, typical),
        "reference_plan": run(screen, reference),
    }
    pygame.display.quit()
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
