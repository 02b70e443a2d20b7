"""Run as a separate OS process: drive one deployment from QUEUED to COMPLETED through the
lifecycle functions, as a runner in another process writes it (`scripted_phases`).

Usage: python -m tests.subscriptions.drive_worker DATABASE_URL DEPLOYMENT_ID LINES_PER_STEP
"""

from __future__ import annotations

import asyncio
import sys

from tortoise import Tortoise

from berth.db import tortoise_config
from tests.subscriptions.support import run_phases, scripted_phases


async def main(url: str, deployment_id: int, lines_per_step: int) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        await run_phases(scripted_phases(deployment_id, lines_per_step=lines_per_step))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
