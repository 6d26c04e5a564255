"""Ovation voice: personas, the scripted show and its interrupts, text-to-speech (Boson Higgs Audio, espeak-ng)."""
