"""Multi-process ops tests (a traced worker, worker /metrics) use a fresh PostgreSQL
database per module."""

from tests.support.workers import pg_url

__all__ = ["pg_url"]
