import os
import sys

# Tests import `src` from the repository root, and run the stage scripts from there.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
