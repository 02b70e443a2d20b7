"""Berth: a deployment control plane for Docker hosts."""

__version__ = "0.1.0"
