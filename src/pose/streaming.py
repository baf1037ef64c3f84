"""Streaming helpers of the pose stage: a bounded read-ahead thread, a bounded pool of image
writes, and the removal of frames a longer or interrupted earlier run left behind."""
import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

WRITE_WORKERS = 2
READ_AHEAD = 4               # decoded frames waiting for the detector
WRITES_IN_FLIGHT = 8         # frames waiting to be written


def read_ahead(iterable, depth):
    """Iterate `iterable` in a background thread, at most `depth` items ahead.

    Exceptions of the producer are raised in the consumer; stopping early stops the producer.
    """
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item):
        """Queue `item` unless the consumer has stopped; False once it has."""
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # handed to the consumer, raised there
            put(err)   # never a plain put: a consumer that stopped would leave it blocked

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class Writer:
    """A small thread pool for image writes, with a bound on the writes waiting."""

    def __init__(self, workers=WRITE_WORKERS, in_flight=WRITES_IN_FLIGHT):
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.pending = deque()
        self.in_flight = in_flight

    def submit(self, fn, *args):
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) > self.in_flight:
            self.pending.popleft().result()   # waits, and raises a failed write's error

    def close(self, wait=True):
        try:
            if wait:
                while self.pending:
                    self.pending.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(wait=exc_type is None)


def remove_stale(folder, count=None):
    """Delete frames numbered `count` and beyond (from a longer earlier run) and the temporary
    files of an interrupted run (all of them; count=None removes only those)."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        stem = name[:-4] if name.endswith(".png") else None
        stale = count is not None and stem is not None and stem.isdigit() and int(stem) >= count
        if stale or (name.startswith(".") and ".tmp" in name):
            os.remove(os.path.join(folder, name))
