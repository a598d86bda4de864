"""Pipelines: everything that writes. Run as ``python -m pipelines <command>``."""
