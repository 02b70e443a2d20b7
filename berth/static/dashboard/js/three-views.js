// The three views side by side: declared config, frozen input, last observed state, with
// the observed differences (drift) listed field by field.
import { DriftBadge } from "./badges.js";
import { formatTime, prettyJson } from "./format.js";
import { html } from "./lib.js";
import { links } from "./router.js";

function Differences({ differences }) {
  if (!differences.length) return html`<p class="muted">No differences.</p>`;
  return html`<table class="differences">
    <caption>Drift, field by field</caption>
    <thead><tr><th scope="col">Field</th><th scope="col">Expected</th><th scope="col">Observed</th></tr></thead>
    <tbody>
      ${differences.map(
        (d) => html`<tr class="drifted">
          <th scope="row"><code>${d.field}</code></th>
          <td><code>${d.expected ?? "—"}</code></td>
          <td><mark><code>${d.actual ?? "—"}</code></mark></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function ObservedState({ observed }) {
  if (!observed) return html`<p class="muted">Not observed yet.</p>`;
  return html`<div>
    <p>
      <${DriftBadge} drift=${observed.drift} /> at <time datetime=${observed.observedAt}>${formatTime(observed.observedAt)}</time>
      ${observed.comparedWith && html`, compared with <a href=${links.deployment(observed.comparedWith.id)}>#${observed.comparedWith.number}</a>`}
    </p>
    <${Differences} differences=${observed.differences} />
    <pre class="json" tabindex="0">${prettyJson(observed.containers)}</pre>
  </div>`;
}

export function ThreeViews({ deployment }) {
  return html`<div class="three-views">
    <section aria-labelledby="view-declared">
      <h3 id="view-declared">Declared config</h3>
      <pre class="json" tabindex="0">${prettyJson(deployment.declaredConfig)}</pre>
    </section>
    <section aria-labelledby="view-frozen">
      <h3 id="view-frozen">Frozen input</h3>
      <pre class="json" tabindex="0">${prettyJson(deployment.frozenInput)}</pre>
    </section>
    <section aria-labelledby="view-observed">
      <h3 id="view-observed">Last observed state</h3>
      <${ObservedState} observed=${deployment.lastObservedState} />
    </section>
  </div>`;
}
