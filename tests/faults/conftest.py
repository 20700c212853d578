"""The fault tests use a fresh PostgreSQL database per module, like the worker tests."""

from tests.support.workers import pg_url

__all__ = ["pg_url"]
