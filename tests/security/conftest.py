"""The in-process system of tests/bad_input (every service and the gateway on SQLite)."""

from tests.bad_input.conftest import System, system

__all__ = ["System", "system"]
