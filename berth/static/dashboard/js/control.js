// A form control with its label above it, tied by id (the control's accessible name is the
// label's text alone).
import { html } from "./lib.js";

export function Control({ id, label, children }) {
  return html`<div class="control"><label for=${id}>${label}</label>${children}</div>`;
}
