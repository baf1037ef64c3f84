"""`python -m src.evaluate`: see src/evaluate/heldout.py."""
from src.errors import run_main
from src.evaluate.heldout import main

run_main(main)
