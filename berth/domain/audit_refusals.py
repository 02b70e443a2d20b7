"""`auth.refused` entries: every credential refused over HTTP or WebSocket.

An entry keeps the reason (the same words the 401 carries), the transport and the
client's address, never any of the credential (not even its prefix).

A flood of bad credentials must not turn into a flood of inserts: within `WINDOW_SECONDS`
this process writes one entry per (address, transport, reason) and counts the repeats;
the next entry for that key says how many it folded in (`details.repeated`). Imports only
models: the authentication code calls it, and the rest of the domain imports that code.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from berth.models.audit import AuditEvent, AuditOutcome
from berth.models.lifecycle import now

AUTH_REFUSED = "auth.refused"
WINDOW_SECONDS = 10.0
# Keys remembered at most (the oldest are forgotten first): bounded memory under a flood
# from many addresses.
MAX_KEYS = 10_000
log = logging.getLogger(__name__)

# key → (monotonic time of the last entry written, refusals folded in since).
_recent: OrderedDict[tuple[str | None, str, str], tuple[float, int]] = OrderedDict()


def reset_window() -> None:
    """Forget recent refusals (tests start each case with a clean window)."""
    _recent.clear()


async def record_refusal(reason: str, remote_address: str | None, transport: str) -> bool:
    """Write the entry unless an identical one was written within the window; whether written."""
    key = (remote_address, transport, reason)
    moment = time.monotonic()
    last = _recent.get(key)
    if last is not None and moment - last[0] < WINDOW_SECONDS:
        _recent[key] = (last[0], last[1] + 1)
        return False
    repeated = last[1] if last is not None else 0
    _recent[key] = (moment, 0)
    _recent.move_to_end(key)
    while len(_recent) > MAX_KEYS:
        _recent.popitem(last=False)
    details: dict[str, object] = {"reason": reason, "transport": transport}
    if repeated:
        details["repeated"] = repeated
    try:
        await AuditEvent.create(
            at=now(), action=AUTH_REFUSED, actor=None, actor_subject=None, outcome=AuditOutcome.REFUSED,
            remote_address=(remote_address or None) and remote_address[:64], details=details,  # type: ignore[index]
        )
    except Exception:  # the 401 is still the answer; the log says the entry is missing
        log.exception("auth.refused entry could not be written")
        return False
    return True
