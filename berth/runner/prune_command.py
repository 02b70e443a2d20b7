"""`berth prune [--dry-run]`: one retention pass now, on the server side.

Like `berth migrate`, it reads the database of BERTH_DATABASE_URL directly and talks to the
servers' Docker daemons itself (the operator who can run it already holds the database):
no API call, no token. `--dry-run` counts what a pass would remove, per category with its
cutoff, and lists the images per server; it changes nothing. Without it, the pass runs with
a progress line per batch on stderr, and a summary on stdout.
"""

from __future__ import annotations

import sys
from typing import TextIO

from berth.domain.retention import CategoryResult
from berth.runner.image_retention import ServerImages, prune_images
from berth.runner.pruner import Pruner
from berth.settings import Settings


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _print_images(reports: list[ServerImages], out: TextIO, *, dry_run: bool) -> None:
    for server in reports:
        if server.error:
            print(f"  images on {server.server}: not checked ({server.error})", file=out)
            continue
        listed = server.doomed if dry_run else server.removed
        verb = "would remove" if dry_run else "removed"
        print(f"  images on {server.server}: {verb} {len(listed)}", file=out)
        for doomed in listed:
            print(f"    {doomed.describe()}", file=out)
        if not dry_run and len(server.removed) < len(server.doomed):
            print(f"    kept {len(server.doomed) - len(server.removed)} Docker refused to remove", file=out)


async def dry_run(settings: Settings, pruner: Pruner, out: TextIO, *, images: bool = True) -> None:
    moment = pruner.clock()
    print(f"retention at {moment.isoformat()} (dry run: nothing is removed)", file=out)
    if not pruner.categories:
        print("  every database category is kept forever (its setting is 0)", file=out)
    for prunable in pruner.categories:
        count = await prunable.count_candidates(moment)
        print(f"  {prunable.name}: {_count(count)} would go ({prunable.cutoff(moment)})", file=out)
    if images:
        if settings.retention_images <= 0:
            print("  images: kept forever (BERTH_RETENTION_IMAGES=0)", file=out)
        else:
            print(f"  images: beyond the newest {settings.retention_images} of each service, "
                  "except what runs and what a rollback needs", file=out)
            _print_images(await prune_images(pruner.engine_factory, settings.retention_images, dry_run=True),
                          out, dry_run=True)


def _progress(result: CategoryResult) -> None:
    sys.stderr.write(f"\rberth: {result.name}: {result.removed:,} removed ({result.batches} batches)")
    sys.stderr.flush()


async def prune_now(settings: Settings, pruner: Pruner, out: TextIO, *, images: bool = True,
                    progress: bool = True) -> int:
    report = await pruner.run_once(images=False, on_batch=_progress if progress else None)
    if progress and any(category.batches for category in report.database.categories):
        sys.stderr.write("\n")
    print(f"retention at {report.at.isoformat()}", file=out)
    failed = False
    for category in report.database.categories:
        if category.error:
            failed = True
            print(f"  {category.name}: failed: {category.error}", file=out)
        else:
            print(f"  {category.name}: removed {category.removed:,} ({category.cutoff})", file=out)
    if images and settings.retention_images > 0:
        reports = await prune_images(pruner.engine_factory, settings.retention_images)
        _print_images(reports, out, dry_run=False)
    return 1 if failed else 0
