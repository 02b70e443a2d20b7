// The deployments table, shared by the deployments page and a service's page. `actions`
// renders extra buttons per row (Cancel, Roll back to this) where the page offers them.
import { ConclusionBadge, StatusBadge } from "./badges.js";
import { actorName, formatDuration, formatTime, servicePath } from "./format.js";
import { html } from "./lib.js";
import { links } from "./router.js";

export function DeploymentTable({ deployments, actions = null, caption }) {
  if (!deployments.length) return html`<p class="empty">No deployments.</p>`;
  return html`<div class="table-wrap">
    <table class="deployments">
      <caption class="visually-hidden">${caption}</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col">#</th>
          <th scope="col">Status</th>
          <th scope="col">Conclusion</th>
          <th scope="col">Trigger</th>
          <th scope="col">Actor</th>
          <th scope="col">Server</th>
          <th scope="col">Created</th>
          <th scope="col">Duration</th>
          ${actions && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}
        </tr>
      </thead>
      <tbody>
        ${deployments.map(
          (d) => html`<tr key=${d.id} data-deployment=${d.id}>
            <td><a href=${links.deployment(d.id)}>${servicePath(d)}</a></td>
            <td><a href=${links.deployment(d.id)} aria-label=${`Deployment #${d.number} of ${servicePath(d)}`}>#${d.number}</a></td>
            <td><${StatusBadge} status=${d.status} />${d.queuePosition ? html` <span class="muted">${d.queuePosition} in queue</span>` : null}</td>
            <td><${ConclusionBadge} conclusion=${d.conclusion} /></td>
            <td>${d.trigger}</td>
            <td>${actorName(d.actor)}</td>
            <td>${d.server?.name ?? "—"}</td>
            <td><time datetime=${d.createdAt}>${formatTime(d.createdAt)}</time></td>
            <td>${formatDuration(d.startedAt, d.concludedAt)}</td>
            ${actions && html`<td><div class="row-actions">${actions(d)}</div></td>`}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
