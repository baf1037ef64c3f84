"""Everybody Dance Now: pose-driven motion transfer. The stage scripts at the top level call into this package."""
