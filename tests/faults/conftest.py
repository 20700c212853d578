"""The fault tests reuse the worker tests' fresh PostgreSQL database per module."""

from tests.dispatch.test_workers import pg_url

__all__ = ["pg_url"]
