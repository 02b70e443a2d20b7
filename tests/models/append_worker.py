"""Run as a separate OS process: append N log lines, one transaction each, to a deployment."""

from __future__ import annotations

import asyncio
import sys

from tortoise import Tortoise

from berth.db import tortoise_config
from berth.models.lifecycle import LogEntry, append_logs


async def main(url: str, deployment_id: int, count: int, tag: str) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        for index in range(count):
            await append_logs(deployment_id, [LogEntry(f"{tag} {index}")])
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
