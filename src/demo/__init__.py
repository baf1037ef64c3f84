"""Synthetic demo data: the dancers demo.sh and the tests draw (python -m src.demo.data).

data.py stays one module of about 600 lines: the dancer's skeleton, its motion, its drawing, the
videos, the still photo and the normalized-source fixture are one generator whose parts share its
proportions and colours, read top to bottom as one recipe.
"""
