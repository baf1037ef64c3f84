"""Options of the stages that have many (training: src/config/train_opt.py)."""
from src.config.train_opt import PRESETS, TrainOptions, make_options, parse, parse_size

__all__ = ["TrainOptions", "PRESETS", "make_options", "parse", "parse_size"]
