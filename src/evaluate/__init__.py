"""Evaluation (python -m src.evaluate): quality of a model on held-out frames, flicker of a transfer result."""
