// The seven steps as a timeline: status, start, end, duration, detail.
import { formatDuration, formatTime } from "./format.js";
import { html } from "./lib.js";

export function StepTimeline({ steps }) {
  return html`<ol class="steps" aria-label="Steps">
    ${steps.map(
      (step) => html`<li key=${step.kind} class=${`step step-${step.status.toLowerCase()}`} data-step=${step.kind} data-status=${step.status}>
        <span class="step-kind">${step.kind}</span>
        <span class="step-status">${step.status}</span>
        <span class="step-times">${step.startedAt
          ? html`<time datetime=${step.startedAt}>${formatTime(step.startedAt)}</time>
              ${" → "}${step.completedAt ? html`<time datetime=${step.completedAt}>${formatTime(step.completedAt)}</time>` : "…"}
              ${" "}<span class="muted">(${formatDuration(step.startedAt, step.completedAt)})</span>`
          : html`<span class="muted">${step.completedAt ? `at ${formatTime(step.completedAt)}` : "not started"}</span>`}</span>
        ${step.detail && html`<span class="step-detail">${step.detail}</span>`}
      </li>`,
    )}
  </ol>`;
}
