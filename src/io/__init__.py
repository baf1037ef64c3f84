"""Reading and writing: atomic files, streamed video, the final encode (make_mp4.py)."""
