"""`python -m src.evaluate`: see src/evaluate/cli.py."""
from src.errors import run_main
from src.evaluate.cli import main

run_main(main)
