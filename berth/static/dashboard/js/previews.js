// A service's pull-request previews: where each runs, what it runs, and "Close preview"
// (tears it down as a closed pull request would) when the credential may cancel.
import { graphql } from "./api.js";
import { errorsOf } from "./errors.js";
import { formatTime } from "./format.js";
import { html } from "./lib.js";
import { CLOSE_PREVIEW } from "./queries.js";
import { links } from "./router.js";
import { useCan } from "./viewer.js";

export async function closePreview(id) {
  try {
    const { data, errors } = await graphql(CLOSE_PREVIEW, { id }, { retry: false });
    const payload = data.closePreview;
    if (!payload) return { errors };
    return payload.errors.length ? { errors: payload.errors } : { preview: payload.preview };
  } catch (problem) {
    return { errors: errorsOf(problem) };
  }
}

function When({ preview }) {
  const moment = preview.cleanedAt ?? preview.closedAt ?? preview.createdAt;
  return html`<time datetime=${moment}>${formatTime(moment)}</time>`;
}

export function Previews({ previews, onChanged, onErrors }) {
  const canClose = useCan("deploy:cancel");
  if (!previews?.length) return null;
  const close = async (preview) => {
    const result = await closePreview(preview.id);
    onErrors(result.errors ?? []);
    if (!result.errors) onChanged();
  };
  return html`<section aria-labelledby="previews-title">
    <h2 id="previews-title">Previews</h2>
    <div class="table-wrap">
      <table class="previews">
        <caption class="visually-hidden">Pull request previews</caption>
        <thead><tr><th scope="col">Pull request</th><th scope="col">Head</th><th scope="col">Status</th><th scope="col">Address</th><th scope="col">Deployment</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          ${previews.map((p) => {
            const latest = p.deployments?.nodes?.[0];
            return html`<tr key=${p.id}>
              <td>#${p.pullRequest} ${p.title ?? ""}${p.author ? html` <span class="muted">by ${p.author}</span>` : null}${p.fork ? html` <span class="badge">fork</span>` : null}</td>
              <td><code>${p.headRef}</code> @ <code>${p.headSha.slice(0, 12)}</code></td>
              <td><span class="badge">${p.status}</span></td>
              <td>${p.addresses?.length ? p.addresses.map((a) => html`<code>${a}</code> `) : "—"}</td>
              <td>${latest ? html`<a href=${links.deployment(latest.id)}>#${latest.number}</a> ${latest.conclusion ?? latest.status}` : "—"}</td>
              <td><${When} preview=${p} /></td>
              <td>${canClose && p.status === "ACTIVE"
                ? html`<button type="button" class="danger" onClick=${() => close(p)} aria-label=${`Close preview of #${p.pullRequest}`}>Close preview</button>`
                : null}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
  </section>`;
}
