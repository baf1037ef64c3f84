"""Evaluation (python -m src.evaluate): quality of a model on held-out frames, and flicker of a
transfer result."""
