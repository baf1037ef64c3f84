"""Reading and writing: atomic files, streamed video, frames kept across re-runs."""
