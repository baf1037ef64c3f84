"""MediaPipe's C++ logging kept off the terminal."""
import os
import sys


class QuietStderr:
    """Silences file descriptor 2 while MediaPipe runs.

    MediaPipe and TFLite log from C++ straight to fd 2 (start-up chatter, and one-time warnings
    such as "Using NORM_RECT without IMAGE_DIMENSIONS" when the first person shows up), which
    no Python setting turns off and which would mix with the progress bar and the one-line
    error messages. MediaPipe's real errors still arrive as Python exceptions.
    """

    def __init__(self):
        self._null = os.open(os.devnull, os.O_WRONLY)
        self._saved = None

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._null, 2)

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)

    def close(self):
        os.close(self._null)
