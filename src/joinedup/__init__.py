"""joinedup: help the public services of a place collaborate for real."""

__version__ = "0.1.0"
