"""Command line: `python -m app serve | worker | migrate | create-reseller NAME | demo`."""

import argparse
import asyncio
import sys
from pathlib import Path

from app.config import Settings


def _migrate(settings: Settings) -> None:
    from app.db.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from app.main import create_asgi

    if settings.auto_migrate:
        _migrate(settings)
    uvicorn.run(
        create_asgi(settings),
        host=host,
        port=port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5,
    )


def _worker(settings: Settings) -> None:
    from app.dispatch.runner import run_worker

    if settings.auto_migrate:
        _migrate(settings)
    run_worker(settings)


async def _create_reseller(settings: Settings, name: str) -> tuple[str, str]:
    from app.db.engine import create_engine, create_sessionmaker
    from app.resellers.service import create_reseller

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            reseller, api_key = await create_reseller(session, name)
            await session.commit()
            return reseller.id, api_key
    finally:
        await engine.dispose()


def _demo(settings: Settings, host: str, port: int, state_dir: Path) -> None:
    """The embedded default: SQLite, a demo tenant, its keys printed, then serve."""
    from app.db.engine import create_engine, create_sessionmaker
    from app.demo import admin_token, ensure_demo_tenant

    if settings.admin_token is None:
        settings = settings.model_copy(update={"admin_token": _secret(admin_token(state_dir))})
    _migrate(settings)

    async def prepare() -> str:
        engine = create_engine(settings)
        try:
            tenant = await ensure_demo_tenant(create_sessionmaker(engine), state_dir)
        finally:
            await engine.dispose()
        return tenant.api_key

    api_key = asyncio.run(prepare())
    assert settings.admin_token is not None
    url = f"http://{host}:{port}/"
    print(  # noqa: T201 - this is the command's output
        "\n  Hookline is starting\n"
        f"  Dashboard:        {url}\n"
        f"  API explorer:     {url}docs\n"
        f"  Demo API key:     {api_key}\n"
        f"  Admin token:      {settings.admin_token.get_secret_value()}\n"
        f"  Database:         {settings.database_url}\n",
        flush=True,
    )
    _serve(settings.model_copy(update={"auto_migrate": False, "demo": True}), host, port)


def _secret(value: str) -> object:
    from pydantic import SecretStr

    return SecretStr(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hookline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        sub = commands.add_parser(name)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
    commands.add_parser("worker", help="run the dispatcher only")
    commands.add_parser("migrate", help="apply database migrations")
    create = commands.add_parser("create-reseller", help="create a reseller, print id and key")
    create.add_argument("name")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        _serve(settings, args.host, args.port)
    elif args.command == "demo":
        _demo(settings, args.host, args.port, Path(".hookline"))
    elif args.command == "worker":
        _worker(settings)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "create-reseller":
        reseller_id, api_key = asyncio.run(_create_reseller(settings, args.name))
        print(f"id: {reseller_id}\napiKey: {api_key}")  # noqa: T201


if __name__ == "__main__":
    main()
