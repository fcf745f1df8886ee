"""The desktop app and command line over the ``core`` engine."""

__version__ = "0.1.0"
