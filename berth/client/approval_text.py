"""How the CLI words approvals and plans (what a person reads: `project/env/service #N`)."""

from __future__ import annotations

import json
from typing import Any

from berth.client.format import scope_label


def deployment_title(record: dict[str, Any]) -> str:
    return f"{scope_label(record)} #{record['number']}"


def approvals_given(record: dict[str, Any]) -> int:
    decisions = (record.get("approval") or {}).get("decisions") or []
    return len({(d.get("actor") or {}).get("subject") for d in decisions if d.get("approved")})


def approval_line(record: dict[str, Any]) -> str | None:
    """`waiting for approval: 1 of 2` and the like; None when none is required."""
    approval = record.get("approval") or {}
    state = approval.get("state")
    if state in (None, "NOT_REQUIRED"):
        return None
    required = int(approval.get("required") or 0)
    if state == "PENDING":
        return f"waiting for approval: {approvals_given(record)} of {required} (berth approve {record['id']})"
    return f"approval {state.lower()} ({approvals_given(record)} of {required})"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and value == {"secret": True}:
        return "(secret)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The plan, readably: changes, what it supersedes, the queue, approval, problems."""
    service = plan.get("service")
    label = scope_label({**service, "service": {"name": service.get("name")}}) if service else "?"
    lines = [f"plan for {label} (dry run: nothing was queued)"]
    problems = plan.get("problems") or []
    if problems:
        lines.append("problems (startDeployment would refuse):")
        for problem in problems:
            field = ".".join(problem.get("field") or [])
            lines.append(f"  {problem['code']}: {problem['message']}" + (f" [{field}]" if field else ""))
        return lines
    changes = plan.get("changes") or []
    if changes:
        lines.append("changes against what runs now:")
        for change in changes:
            before, after = change.get("before"), change.get("after")
            if before == after == {"secret": True}:
                lines.append(f"  {change['path']}: secret value changed")
            else:
                lines.append(f"  {change['path']}: {_value(before)} -> {_value(after)}")
    else:
        lines.append("changes: none (the same as what runs now)")
    superseded = plan.get("wouldSupersede") or []
    lines.append("supersedes: " + (", ".join(deployment_title(d) for d in superseded) or "nothing"))
    lines.append(f"queue ahead: {plan.get('queueAhead', 0)}")
    lines.append("needs approval: " + ("yes (it will wait QUEUED until approved)" if plan.get("requiresApproval")
                                       else "no"))
    return lines
