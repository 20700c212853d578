"""Apply Alembic migrations from code (the CLI's `migrate` and `serve`, and the tests).

The migrations are package data (`app/migrations`), so an installed wheel migrates with
nothing from a checkout; the repository's `alembic.ini` is only for the `alembic` command
during development and points at the same directory.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
