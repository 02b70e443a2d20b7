"""The executor tests' harness (real deployments in-process) for the retention tests."""

from tests.runner.conftest import harness

__all__ = ["harness"]
