"""Running one client command: asyncio, one-line errors, exit codes, never a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from berth.client import config
from berth.client.api import Api
from berth.client.errors import EXIT_BUG, EXIT_INTERRUPTED, AuthProblem, ClientError


def run(command: Callable[[], Coroutine[Any, Any, int]]) -> int:
    # The server side configures INFO logging for the whole process; a client prints
    # only what it means to (httpx would log every request).
    logging.getLogger().setLevel(logging.WARNING)
    try:
        return asyncio.run(command())
    except ClientError as error:
        _say(error.message)
        return error.exit_code
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`berth deployments | head`): nothing left to tell.
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return 0
    except Exception as error:  # a bug: one line unless asked for the trace
        if os.environ.get("BERTH_DEBUG"):
            traceback.print_exc()
        _say(f"unexpected error: {type(error).__name__}: {error} (BERTH_DEBUG=1 shows the traceback)")
        return EXIT_BUG


def _say(message: str) -> None:
    sys.stderr.write(f"berth: {message}\n")
    sys.stderr.flush()


def api() -> Api:
    """An API client with the configured credential; there is nothing to do without one."""
    settings = config.load()
    if not settings.token:
        raise AuthProblem(f"no credential for {settings.url}: set BERTH_TOKEN or run `berth login`")
    return Api(settings)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A human-facing line on stdout."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
