"""The background plate of a static camera, the window the generator draws over it, and compositing."""
