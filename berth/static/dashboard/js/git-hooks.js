// A service's push-to-deploy hooks and what their latest deliveries became (deployments,
// previews, or the reason nothing was deployed).
import { formatTime } from "./format.js";
import { html } from "./lib.js";
import { links } from "./router.js";

function Deliveries({ connection }) {
  const deliveries = connection?.edges.map((edge) => edge.node) ?? [];
  if (!deliveries.length) return html`<p class="muted">No deliveries yet.</p>`;
  return html`<div class="table-wrap">
    <table class="deliveries">
      <caption class="visually-hidden">Latest deliveries</caption>
      <thead><tr><th scope="col">Received</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Commit</th><th scope="col">Deployment</th></tr></thead>
      <tbody>
        ${deliveries.map(
          (d) => html`<tr key=${d.id}>
            <td><time datetime=${d.receivedAt}>${formatTime(d.receivedAt)}</time></td>
            <td>${d.event}</td>
            <td>${d.outcome}${d.reason ? html` <span class="muted">${d.reason}</span>` : null}</td>
            <td><code>${d.commitSha ? d.commitSha.slice(0, 12) : "—"}</code></td>
            <td>${d.deployment ? html`<a href=${links.deployment(d.deployment.id)}>#${d.deployment.number}</a>` : "—"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function GitHooks({ hooks }) {
  if (!hooks?.length) return null;
  return html`<section aria-labelledby="hooks-title">
    <h2 id="hooks-title">Push to deploy</h2>
    ${hooks.map(
      (hook) => html`<div class="hook" key=${hook.id}>
        <p>
          <strong>${hook.provider}</strong> <code>${hook.repository}</code>
          ${hook.branch ? html`: pushes to <code>${hook.branch}</code> deploy` : ": pushes deploy nothing"}
          ${hook.previews ? `; pull requests get previews${hook.allowForkPreviews ? " (forks too)" : ""}` : ""}
        </p>
        <${Deliveries} connection=${hook.deliveries} />
      </div>`,
    )}
  </section>`;
}
