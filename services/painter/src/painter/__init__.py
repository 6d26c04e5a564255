"""Painter: Canvas-DSL plans rasterised on Draw Stream's pixel grid and animated on one shared timeline."""
