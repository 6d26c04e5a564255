"""``ovation paint``: a Canvas-DSL plan (or a request, planned here) to a PNG, a GIF of its animation, or JSON.

    ovation paint PLAN.json --png OUT.png [--scale 8]
    ovation paint --request "a cat in space" --png OUT.png --json PLAN.json
    ovation paint --request "ракета" --gif OUT.gif
    ovation paint --samples DIR          # the offline planner's sample requests, for review

A request is planned like the service plans it: by the LLM when ``PAINTER_OLLAMA_URL`` (or ``--ollama-url``)
is set, else (or when the LLM fails) by the offline planner.
"""

# A command-line tool talks to its user on stdout and stderr.
# ruff: noqa: T201

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ovation_contracts import Money, PainterJob
from ovation_contracts.canvas import CanvasPlan

from .config import PainterConfig
from .planner import DrawingPlanner, LlmPlanner, OfflinePlanner, OllamaOptions, PlanOutcome
from .render import MAX_PNG_SCALE, encode_png, final_frame, render_frame
from .timeline import build_timeline

SAMPLE_REQUESTS = (
    "a cat in space",
    "собака на пляже",
    "cozy house in winter",
    "big red heart",
    "солнышко",
    "christmas tree",
    "a rocket to the moon",
    "ромашка",
    "a golden star at night",
    "луна",
    "goldfish",
    "синяя машина ночью",
    "birthday cake",
    "напиши Привет стрим",
    "write 'GG WP'",
    "something nobody has a drawing for",
)
GIF_FRAME_MS = 100
GIF_MAX_FRAMES = 240
GIF_HOLD_MS = 1500


def register(subcommands: Any) -> None:
    """Add ``paint`` to the ``ovation`` command (the ``ovation.commands`` entry point)."""
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "paint",
        help="render a Canvas-DSL plan or a drawing request to PNG, GIF or JSON",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("plan", nargs="?", type=Path, help="a Canvas-DSL plan (JSON file, or - for stdin)")
    source.add_argument("--request", help="a drawing request to plan first, as a donor would write it")
    source.add_argument("--samples", type=Path, metavar="DIR", help="render the sample requests into DIR")
    parser.add_argument("--png", type=Path, help="write the finished picture here")
    parser.add_argument("--gif", type=Path, help="write the animation here")
    parser.add_argument("--json", type=Path, help="write the plan here (- for stdout)")
    parser.add_argument(
        "--scale", type=int, default=8, help=f"pixels per canvas pixel, 1 to {MAX_PNG_SCALE} (8)"
    )
    parser.add_argument(
        "--size", type=int, help="canvas side for --request and --samples (PAINTER_CANVAS_SIZE)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed for --request (the same seed, the same drawing)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never ask the LLM, even when one is configured"
    )
    parser.add_argument("--ollama-url", help="plan --request with this Ollama (PAINTER_OLLAMA_URL)")
    parser.add_argument("--model", help="the Ollama model (PAINTER_OLLAMA_MODEL)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.scale <= MAX_PNG_SCALE:
        return _fail(f"--scale must be between 1 and {MAX_PNG_SCALE}, got {args.scale}", 2)
    if args.samples is not None:
        return _samples(args.samples, args.scale, args.size)
    if args.png is None and args.gif is None and args.json is None:
        return _fail("say where to write the result: --png OUT.png, --gif OUT.gif and/or --json PLAN.json", 2)
    if args.request is not None:
        outcome = asyncio.run(_plan_request(args))
        plan = outcome.plan
        note = f" (the LLM failed: {outcome.fallback_reason})" if outcome.fallback_reason else ""
        print(f"planned by the {outcome.source.value} planner{note}", file=sys.stderr)
    else:
        try:
            plan = _read_plan(args.plan)
        except (OSError, ValueError) as exc:
            return _fail(str(exc), 2)
    try:
        _write(plan, args)
    except OSError as exc:
        return _fail(f"could not write the result: {exc}", 1)
    return 0


def _read_plan(path: Path) -> CanvasPlan:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read the plan {path}: {exc.strerror or exc}") from exc
    try:
        return CanvasPlan.model_validate_json(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in error['loc']) or 'plan'}: {error['msg']}"
            for error in exc.errors()[:10]
        )
        raise ValueError(
            f"{path} is not a valid Canvas-DSL plan ({exc.error_count()} problem(s)):\n{problems}"
        ) from exc


async def _plan_request(args: argparse.Namespace) -> PlanOutcome:
    config = PainterConfig()
    size = args.size or config.canvas_size
    url = None if args.offline else (args.ollama_url or config.ollama_url)
    llm = None
    if url:
        options = OllamaOptions(
            base_url=url,
            model=args.model or config.ollama_model,
            timeout=config.ollama_timeout,
            retries=config.ollama_retries,
        )
        llm = LlmPlanner(options, width=size, height=size)
    planner = DrawingPlanner(OfflinePlanner(size, size), llm)
    money = Money(amount=Decimal(0), currency="RUB")
    job = PainterJob(
        job_id=f"cli:{args.seed}:painter",
        donation_id=f"cli:{args.seed}",
        donor_name="you",
        amount=money,
        amount_base=money,
        message=args.request,
    )
    try:
        return await planner.plan(job, caption="")
    finally:
        await planner.aclose()


def _write(plan: CanvasPlan, args: argparse.Namespace) -> None:
    if args.json is not None:
        text = (
            json.dumps(plan.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False) + "\n"
        )
        if str(args.json) == "-":
            sys.stdout.write(text)
        else:
            args.json.write_text(text, encoding="utf-8")
            print(f"wrote {args.json}", file=sys.stderr)
    if args.png is not None:
        args.png.write_bytes(encode_png(final_frame(plan), args.scale))
        print(f"wrote {args.png}", file=sys.stderr)
    if args.gif is not None:
        write_gif(plan, args.gif, args.scale)
        print(f"wrote {args.gif}", file=sys.stderr)


def write_gif(plan: CanvasPlan, path: Path, scale: int) -> None:
    """The drawing as an animated GIF, from the empty canvas to the finished picture, then a pause."""
    from PIL import Image

    timeline = build_timeline(plan)
    step = max(GIF_FRAME_MS, -(-timeline.duration_ms // GIF_MAX_FRAMES))
    times = [*range(0, timeline.duration_ms, step), timeline.duration_ms]
    frames = []
    for t_ms in times:
        canvas = render_frame(timeline, t_ms)
        image = Image.frombytes("RGB", (canvas.width, canvas.height), bytes(canvas.rgb))
        frames.append(image.resize((canvas.width * scale, canvas.height * scale), Image.Resampling.NEAREST))
    durations = [step] * (len(frames) - 1) + [GIF_HOLD_MS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False)


def _samples(folder: Path, scale: int, size: int | None) -> int:
    side = size or PainterConfig().canvas_size
    planner = OfflinePlanner(side, side)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for number, request in enumerate(SAMPLE_REQUESTS, start=1):
            plan = planner.plan(request, seed=number)
            slug = re.sub(r"\W+", "-", request.lower()).strip("-")[:40]
            stem = folder / f"{number:02d}-{slug}"
            stem.with_suffix(".png").write_bytes(encode_png(final_frame(plan), scale))
            stem.with_suffix(".json").write_text(
                plan.model_dump_json(exclude_none=True, indent=2), encoding="utf-8"
            )
    except OSError as exc:
        return _fail(f"could not write the samples into {folder}: {exc}", 1)
    print(f"wrote {len(SAMPLE_REQUESTS)} sample drawings (PNG and JSON) into {folder}", file=sys.stderr)
    return 0


def _fail(message: str, code: int) -> int:
    print(f"ovation paint: {message}", file=sys.stderr)
    return code
