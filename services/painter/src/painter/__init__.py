"""Painter: Canvas-DSL plans rasterised on Draw Stream's pixel grid and animated on one shared timeline."""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in the service's structured logs
