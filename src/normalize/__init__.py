"""Normalization (normalization.py): the source's poses mapped onto the target's body and place."""
