"""Test-only entry point: `python -m tests.runner.run_runner` is `berth runner` with the
stand-in executor of runner_support (or, with BERTH_TEST_EXECUTOR=real, the real one).

Production code has no test hooks; this script passes the executor in the way `berth
runner` passes the default one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from berth.runner.loop import Executor
from berth.runner.service import run_standalone
from berth.settings import get_settings
from tests.runner.runner_support import fake_execute


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    executor: Executor | None = None if os.environ.get("BERTH_TEST_EXECUTOR") == "real" else fake_execute
    asyncio.run(run_standalone(get_settings(), executor=executor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
