"""Helper tools that are not pipeline stages (webcam capture: python -m src.utils.save_img)."""
