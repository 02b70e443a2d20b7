// One deployment: its record, the steps updating live (deploymentEvents), the three views,
// the artifact and the logs.
import { cancelDeployment } from "./actions.js";
import { ArtifactButtons } from "./artifact.js";
import { ConclusionBadge, StatusBadge } from "./badges.js";
import { useEvery, useQuery } from "./data.js";
import { ErrorList } from "./errors.js";
import { actorName, formatDuration, formatTime, isActive, servicePath } from "./format.js";
import { html, useEffect, useState } from "./lib.js";
import { subscribe } from "./live.js";
import { LogsPanel } from "./logs.js";
import { DEPLOYMENT, DEPLOYMENT_EVENTS } from "./queries.js";
import { links } from "./router.js";
import { StepTimeline } from "./steps.js";
import { ThreeViews } from "./three-views.js";
import { useCan } from "./viewer.js";

// The record as loaded, with what deploymentEvents reported since (the deployment as it is now).
function useLiveDeployment(id) {
  const result = useQuery(DEPLOYMENT, { id });
  const [live, setLive] = useState(null);
  useEffect(() => {
    setLive(null);
    const request = { query: DEPLOYMENT_EVENTS, variables: { deploymentId: id, afterSeq: null } };
    return subscribe(request, {
      next: ({ deploymentEvents: event }) => {
        if (!event) return;
        request.variables.afterSeq = event.seq;
        setLive(event.deployment);
        if (event.type === "CONCLUDED") result.reload(); // the observed state and the rest
      },
    });
  }, [id]);
  useEvery(result.reload); // the last observed state
  const deployment = result.data?.deployment;
  return { ...result, deployment: deployment && live ? { ...deployment, ...live } : deployment };
}

function CancelButton({ deployment }) {
  const [errors, setErrors] = useState([]);
  const [requested, setRequested] = useState(false);
  if (!useCan("deploy:cancel") || !isActive(deployment)) return null;
  const cancel = async () => {
    const result = await cancelDeployment(deployment.id);
    setErrors(result.errors ?? []);
    setRequested(!result.errors);
  };
  return html`<span>
    <button type="button" class="danger" onClick=${cancel} disabled=${requested || deployment.cancelRequestedAt}>Cancel</button>
    <${ErrorList} errors=${errors} />
  </span>`;
}

function Field({ label, wide = false, children }) {
  return html`<div class=${wide ? "field wide" : "field"}><dt>${label}</dt><dd>${children}</dd></div>`;
}

function Summary({ deployment: d }) {
  const actor = d.actor;
  return html`<dl class="summary">
    <${Field} label="Status"><${StatusBadge} status=${d.status} />${d.queuePosition ? ` (${d.queuePosition} in queue)` : ""}<//>
    <${Field} label="Conclusion"><${ConclusionBadge} conclusion=${d.conclusion} /><//>
    <${Field} label="Actor">${actorName(actor)} <span class="muted">${[actor.role?.toLowerCase(), actor.tokenKind, actor.tokenName && `token ${actor.tokenName}`, actor.subject].filter(Boolean).join(" · ")}</span><//>
    <${Field} label="Trigger">${d.trigger}<//>
    <${Field} label="Target">server ${d.server?.name ?? "?"}, environment ${d.environment?.name ?? "?"}<//>
    <${Field} label="Created"><time datetime=${d.createdAt}>${formatTime(d.createdAt)}</time><//>
    <${Field} label="Started"><time datetime=${d.startedAt ?? ""}>${formatTime(d.startedAt)}</time><//>
    <${Field} label="Concluded"><time datetime=${d.concludedAt ?? ""}>${formatTime(d.concludedAt)}</time> (${formatDuration(d.startedAt, d.concludedAt)})<//>
    ${d.rollbackOf && html`<${Field} label="Rollback of"><a href=${links.deployment(d.rollbackOf.id)}>#${d.rollbackOf.number}</a><//>`}
    ${d.reason && html`<${Field} label="Reason" wide>${d.reason}<//>`}
    ${d.cancelRequestedAt && html`<${Field} label="Cancel requested"><time datetime=${d.cancelRequestedAt}>${formatTime(d.cancelRequestedAt)}</time>${d.cancelReason ? `: ${d.cancelReason}` : ""}<//>`}
    ${d.logsPrunedAt && html`<${Field} label="Logs removed" wide>by retention at <time datetime=${d.logsPrunedAt}>${formatTime(d.logsPrunedAt)}</time>; the record is kept<//>`}
    ${d.input && html`<${Field} label="Input" wide><code>${[d.input.image && `${d.input.image}${d.input.imageTag ? `:${d.input.imageTag}` : ""}`, d.input.repository, d.input.ref, d.input.commitSha, d.input.imageDigest].filter(Boolean).join(" ")}</code><//>`}
    ${d.error && html`<${Field} label="Error" wide><span class="error-text">${d.error.step ? `at ${d.error.step}: ` : ""}${d.error.code}: ${d.error.message}</span><//>`}
  </dl>`;
}

export function DeploymentDetails({ id }) {
  const { deployment, errors, loading } = useLiveDeployment(id);
  const canReadLogs = useCan("logs:read");
  if (loading) return html`<p class="loading">Loading…</p>`;
  if (!deployment) return html`<${ErrorList} errors=${errors.length ? errors : [{ message: "No such deployment." }]} />`;
  return html`<article aria-labelledby="deployment-title">
    <h1 id="deployment-title">
      ${deployment.service ? html`<a href=${links.service(deployment.service.id)}>${servicePath(deployment)}</a>` : servicePath(deployment)} #${deployment.number}
    </h1>
    <div class="actions">
      <${CancelButton} deployment=${deployment} />
      <${ArtifactButtons} deploymentId=${deployment.id} />
    </div>
    <${ErrorList} errors=${errors} />
    <${Summary} deployment=${deployment} />
    <h2>Steps</h2>
    <${StepTimeline} steps=${deployment.steps} />
    <h2>Views</h2>
    <${ThreeViews} deployment=${deployment} />
    ${canReadLogs ? html`<${LogsPanel} deploymentId=${deployment.id} />` : html`<p class="muted">Logs need the logs:read scope.</p>`}
  </article>`;
}
