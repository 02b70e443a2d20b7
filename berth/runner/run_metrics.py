"""What one deployment run reports to `berth.metrics`: each step's time and how it ended,
and the deployment's conclusion and time from claim to conclusion (this runner's view)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from berth.metrics import DEPLOYMENT_SECONDS, DEPLOYMENTS_RUN, STEP_SECONDS
from berth.models.enums import DeploymentConclusion, StepKind
from berth.models.lifecycle import TERMINAL_STEP_STATUSES, StepChange


class RunMetrics:
    def __init__(self, source: str) -> None:
        self.source = source
        self.claimed = time.perf_counter()
        self._started: dict[StepKind, float] = {}

    def step_started(self, kind: StepKind) -> None:
        self._started[kind] = time.perf_counter()

    def recorded(self, steps: Sequence[StepChange], conclusion: DeploymentConclusion | None) -> None:
        """A change the database accepted (never one refused: it did not happen)."""
        moment = time.perf_counter()
        for change in steps:
            if change.status in TERMINAL_STEP_STATUSES:
                # A step skipped without starting took no time.
                started = self._started.get(change.kind, moment)
                STEP_SECONDS.labels(str(change.kind), str(change.status)).observe(moment - started)
        if conclusion is not None:
            DEPLOYMENTS_RUN.labels(str(conclusion), self.source).inc()
            DEPLOYMENT_SECONDS.labels(str(conclusion), self.source).observe(moment - self.claimed)



