// Status, conclusion and drift as small labelled badges (colours in dashboard.css).
import { html } from "./lib.js";

export function StatusBadge({ status }) {
  return html`<span class="badge status-${status.toLowerCase()}">${status}</span>`;
}

export function ConclusionBadge({ conclusion }) {
  if (!conclusion) return html`<span class="muted">—</span>`;
  return html`<span class="badge conclusion-${conclusion.toLowerCase()}">${conclusion}</span>`;
}

export function DriftBadge({ drift }) {
  if (!drift) return html`<span class="muted">not observed</span>`;
  return html`<span class="badge drift-${drift.toLowerCase()}">${drift}</span>`;
}
