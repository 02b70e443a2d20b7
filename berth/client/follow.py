"""Follow one deployment to its conclusion: events (and with --follow, logs) rendered live.

Ctrl-C while following: with --cancel-on-interrupt the deployment is canceled; at a
terminal the user is asked; otherwise it is left running. After a cancel the
follower keeps going until the deployment concludes, so the exit code says how it
ended; a second Ctrl-C stops watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from berth.client import queries
from berth.client.api import Api
from berth.client.errors import (
    EXIT_CANCELED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SKIPPED,
    ClientError,
    InputProblem,
)
from berth.client.graphql_errors import raise_for_user_errors
from berth.client.interrupt import Interrupts, ask_yes_no
from berth.client.progress import Progress, Renderer
from berth.client.ws import SeqStream

TICK = 0.1
CONCLUSION_EXIT = {
    "SUCCEEDED": EXIT_OK,
    "FAILED": EXIT_FAILED,
    "CANCELED": EXIT_CANCELED,
    "SKIPPED": EXIT_SKIPPED,
}
INTERRUPT_REASON = "interrupted from the berth CLI"


@dataclass(frozen=True)
class FollowOptions:
    renderer: Renderer
    logs: bool = False
    cancel_on_interrupt: bool = False


def exit_code(record: dict[str, Any]) -> int:
    return CONCLUSION_EXIT.get(str(record.get("conclusion")), EXIT_FAILED)


async def fetch_deployment(
    api: Api, deployment_id: str, document: str = queries.DEPLOYMENT
) -> dict[str, Any]:
    data = await api.execute(document, {"id": deployment_id})
    record = data.get("deployment")
    if not isinstance(record, dict):
        raise InputProblem(f"no deployment with id {deployment_id!r}")
    return record


async def cancel_deployment(api: Api, deployment_id: str, reason: str | None) -> dict[str, Any]:
    data = await api.execute(queries.CANCEL, {"input": {"deploymentId": deployment_id, "reason": reason}})
    payload = data["cancelDeployment"]
    raise_for_user_errors(payload["errors"], {"input.deploymentId": "ID", "input.reason": "--reason"})
    return dict(payload["deployment"])


async def follow(api: Api, record: dict[str, Any], options: FollowOptions) -> dict[str, Any] | None:
    """The concluded record, or None when the user left the deployment running (Ctrl-C)."""
    progress = Progress.of(record)
    renderer = options.renderer
    with Interrupts() as interrupts:
        renderer.begin(progress)
        streams = asyncio.create_task(_streams(api, progress, options))
        ticker = asyncio.create_task(_tick(renderer))
        canceling = False
        try:
            while not streams.done():
                interrupted = asyncio.create_task(interrupts.wait())
                await asyncio.wait({streams, interrupted}, return_when=asyncio.FIRST_COMPLETED)
                interrupted.cancel()
                if streams.done():
                    break
                if canceling or not await _cancel_wanted(progress, options, interrupts):
                    renderer.suspend()
                    _left_running(progress)
                    return None
                canceling = True
                await _request_cancel(api, progress, renderer)
            streams.result()
        finally:
            for task in (ticker, streams):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ClientError):
                    await task
    final = await fetch_deployment(api, progress.id)
    renderer.end(progress, final)
    return final


async def _streams(api: Api, progress: Progress, options: FollowOptions) -> None:
    jobs: list[Coroutine[Any, Any, None]] = [_events(api, progress, options.renderer)]
    if options.logs:
        jobs.append(_logs(api, progress, options.renderer))
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _events(api: Api, progress: Progress, renderer: Renderer) -> None:
    stream = SeqStream(
        api.config, queries.EVENTS, "deploymentEvents", {"deploymentId": progress.id}, notice=renderer.notice
    )
    async for event in stream:
        step = progress.apply(event)
        renderer.changed(progress, event, step)


async def _logs(api: Api, progress: Progress, renderer: Renderer) -> None:
    stream = SeqStream(api.config, queries.LOGS, queries.LOGS_SUBSCRIPTION_FIELD, {"deploymentId": progress.id})
    async for line in stream:
        renderer.log(line)


async def _tick(renderer: Renderer) -> None:
    while True:
        await asyncio.sleep(TICK)
        renderer.tick()


async def _cancel_wanted(progress: Progress, options: FollowOptions, interrupts: Interrupts) -> bool:
    if options.cancel_on_interrupt:
        return True
    if not sys.stdin.isatty():
        return False
    options.renderer.suspend()
    try:
        return await ask_yes_no(f"Cancel deployment #{progress.number} ({progress.id})? [y/N] ", interrupts)
    finally:
        options.renderer.resume()


async def _request_cancel(api: Api, progress: Progress, renderer: Renderer) -> None:
    try:
        await cancel_deployment(api, progress.id, INTERRUPT_REASON)
    except InputProblem as refused:  # e.g. NOT_CANCELABLE once FINALIZE has started
        renderer.notice(f"not canceled: {refused.message}")
        return
    renderer.notice("cancel requested; waiting for the deployment to stop")


def _left_running(progress: Progress) -> None:
    sys.stderr.write(
        f"berth: deployment #{progress.number} ({progress.id}) left running; "
        f"watch it with `berth logs {progress.id} -f`, cancel it with `berth cancel {progress.id}`\n"
    )
    sys.stderr.flush()
