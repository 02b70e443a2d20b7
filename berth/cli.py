"""`berth` command line: the server side (serve, runner, migrate, prune, token, export-schema)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from berth.client import add_client_commands, add_token_client_commands
from berth.settings import Settings, SettingsError, get_settings

SQLITE_SCALE_OUT = (
    "{what} needs PostgreSQL (BERTH_DATABASE_URL=postgres://…): one process owns an SQLite database; "
    "use `berth serve` alone on SQLite."
)


class UsageError(Exception):
    """A one-line, user-facing reason to stop (exit code 3)."""


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from berth.app import create_app
    from berth.graphql_app import MAX_BODY_BYTES
    from berth.heap import freeze_startup_objects
    from berth.http.access_log import uvicorn_log_config
    from berth.runner.service import background_services, readiness_probes

    if args.no_runner and settings.is_sqlite:
        raise UsageError(SQLITE_SCALE_OUT.format(what="`berth serve --no-runner`"))
    settings = settings.with_public_url(args.host, args.port)
    services = background_services(settings, runner=not args.no_runner)
    app = create_app(settings, background=services)
    app.state.readiness_probes.update(readiness_probes(services))
    freeze_startup_objects()
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level, ws="websockets-sansio",
        # No query strings in the logs (berth.http.access_log); no WebSocket message buffered
        # beyond the body limit (berth.http.websocket_messages).
        log_config=uvicorn_log_config(), ws_max_size=MAX_BODY_BYTES,
    )
    return 0


def _runner(args: argparse.Namespace, settings: Settings) -> int:
    from berth.heap import freeze_startup_objects
    from berth.runner.service import run_standalone

    if settings.is_sqlite:
        raise UsageError(SQLITE_SCALE_OUT.format(what="`berth runner`"))
    freeze_startup_objects()
    asyncio.run(run_standalone(settings))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from berth.db import apply_migrations

    if settings.is_sqlite:
        settings.ensure_data_dir()
    applied = asyncio.run(apply_migrations(settings.database_url))
    print("applied: " + ", ".join(applied) if applied else "no pending migrations")
    return 0


def _token_create(args: argparse.Namespace, settings: Settings) -> int:
    from berth.auth.api_tokens import cli_create_token
    from berth.auth.errors import TokenGrantError
    from berth.db import apply_migrations, close_db, open_db

    # The token alone on stdout and nothing else: the ORM and migrations log at INFO (the
    # server's level, set in main) and the creation is logged, which a terminal need not show.
    quiet_logging()

    async def run() -> str:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        await apply_migrations(settings.database_url)
        await open_db(settings)
        try:
            return await cli_create_token(
                args.name, args.role, args.scope or None, args.project or [], args.expires_in_days
            )
        finally:
            await close_db()

    try:
        token = asyncio.run(run())
    except TokenGrantError as error:
        raise UsageError(f"--{error.field.replace('Ids', '').lower()}: {error.message}") from None
    print(token)
    return 0


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    from berth.db import apply_migrations, close_db, open_db
    from berth.runner.prune_command import dry_run, prune_now
    from berth.runner.pruner import Pruner

    quiet_logging()

    async def run() -> int:
        if settings.is_sqlite:
            settings.ensure_data_dir()
        await apply_migrations(settings.database_url)
        await open_db(settings)
        try:
            pruner = Pruner(settings)
            if args.dry_run:
                await dry_run(settings, pruner, sys.stdout, images=not args.no_images)
                return 0
            return await prune_now(settings, pruner, sys.stdout, images=not args.no_images)
        finally:
            await close_db()

    return asyncio.run(run())


def quiet_logging() -> None:
    """Warnings and errors only, for commands whose output is what the user asked for."""
    logging.getLogger().setLevel(logging.WARNING)


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from berth.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="berth", description="Berth: a deployment control plane for Docker hosts."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and, by default, the runner and observer)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-runner", action="store_true", help="API only (scale-out, PostgreSQL)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=_serve)

    runner = commands.add_parser("runner", help="run a runner and observer without the API (PostgreSQL)")
    runner.set_defaults(handler=_runner)

    migrate = commands.add_parser("migrate", help="apply pending database migrations and exit")
    migrate.set_defaults(handler=_migrate)

    prune = commands.add_parser(
        "prune", help="run one retention pass now (docs/retention.md); --dry-run shows what would go"
    )
    prune.add_argument("--dry-run", action="store_true", help="count what would go, remove nothing")
    prune.add_argument("--no-images", action="store_true", help="leave the servers' images alone")
    prune.set_defaults(handler=_prune)

    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create an API token; prints it alone on stdout")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, help="owner, admin, operator, developer, viewer or agent")
    create.add_argument("--scope", action="append", help="limit to this scope (repeatable)")
    create.add_argument("--project", action="append", type=int, help="limit to this project id (repeatable)")
    create.add_argument("--expires-in-days", type=int)
    create.set_defaults(handler=_token_create)
    add_token_client_commands(token_commands)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(handler=_export_schema)

    add_client_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, get_settings()))
    except (UsageError, SettingsError) as error:
        print(f"berth: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
