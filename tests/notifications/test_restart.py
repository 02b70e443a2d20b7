"""A `berth runner` process (the runner service with its senders, as an OS process) killed
with `kill -9` while it has deliveries pending, one of them in flight, then started again:
nothing is lost, and only the one whose answer never came is sent a second time, with the
same X-Berth-Delivery so the receiver can tell. PostgreSQL: `berth runner` needs it."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.models import NotificationDelivery
from berth.models.enums import NotificationDeliveryStatus, NotificationKind
from tests.conftest import Database
from tests.notifications.support import make_channel
from tests.runner.runner_support import RunnerProcess, make_server, make_service, queue, succeed
from tests.support.polling import poll
from tests.support.status_receiver import StatusReceiver

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)

# A timeout long enough that the kill surely comes while the held request still waits
# within it (the default 5 s can run out first on a busy machine while the other
# deliveries go out, and the sender would retry before the kill). The restarted process
# tries the held delivery again once its claim is free.
FAST = {"BERTH_NOTIFY_TIMEOUT_SECONDS": "20", "BERTH_NOTIFY_RETRY_BASE_SECONDS": "0.1",
        "BERTH_NOTIFY_POLL_SECONDS": "0.2", "BERTH_PUBLIC_URL": "https://berth.example.test"}
DEPLOYMENTS = 3


@pytest.fixture
def processes() -> Iterator[list[RunnerProcess]]:
    started: list[RunnerProcess] = []
    yield started
    for process in started:
        process.stop()


async def statuses() -> Counter[NotificationDeliveryStatus]:
    return Counter(r.status for r in await NotificationDelivery.all())


async def test_a_killed_process_loses_nothing_and_repeats_only_the_unanswered(
    db: Database, tmp_path: Path, processes: list[RunnerProcess],
) -> None:
    with StatusReceiver() as receiver:
        service = await make_service(await make_server())
        await make_channel(service, receiver.url + "/hook", NotificationKind.WEBHOOK)
        # Concluded before any sender runs: 2 × DEPLOYMENTS deliveries pending in the outbox.
        for _ in range(DEPLOYMENTS):
            await succeed((await queue(service)).id)
        assert await statuses() == Counter({NotificationDeliveryStatus.PENDING: 2 * DEPLOYMENTS})
        # The first request to arrive hangs: the process is killed while it waits for the answer.
        receiver.hold(120)
        first = RunnerProcess(db.url, tmp_path / "first.log", env=FAST).start()
        processes.append(first)

        async def all_but_the_held_group_delivered() -> bool:
            return (await statuses())[NotificationDeliveryStatus.DELIVERED] == 2 * DEPLOYMENTS - 2

        await poll(all_but_the_held_group_delivered, 30, "the deliveries not behind the held one")
        held = receiver.snapshot()[0]
        assert len(receiver.snapshot()) == 2 * DEPLOYMENTS - 1, "the held request was retried before the kill"
        first.signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        receiver.release()  # the held request answers a dead process
        assert (await statuses())[NotificationDeliveryStatus.PENDING] == 2

        second = RunnerProcess(db.url, tmp_path / "second.log", env=FAST).start()
        processes.append(second)

        async def everything_delivered() -> list[NotificationDelivery] | None:
            rows = list(await NotificationDelivery.all().order_by("id"))
            return rows if all(r.status is NotificationDeliveryStatus.DELIVERED for r in rows) else None

        rows = await poll(everything_delivered, 120, "every delivery after the restart (the lease lapses first)")
        sent = Counter(r.header("x-berth-delivery") for r in receiver.snapshot())
        assert set(sent) == {r.delivery_id for r in rows}, "a delivery was lost"
        # Only the one in flight at the kill went twice; it is the same delivery (same id).
        assert {d for d, n in sent.items() if n > 1} == {held.header("x-berth-delivery")}
        assert sent[held.header("x-berth-delivery")] == 2
        [again] = [r for r in rows if r.delivery_id == held.header("x-berth-delivery")]
        assert again.attempts == 2 and again.event == "deployment.started"
