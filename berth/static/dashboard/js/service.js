// One service: Deploy (tag or ref), its deployments with Cancel and "Roll back to this",
// live through deploymentFeed. Buttons exist only when the credential has their scope.
import { cancelDeployment, rollbackDeployment, startDeployment } from "./actions.js";
import { Control } from "./control.js";
import { DriftBadge } from "./badges.js";
import { DeploymentTable } from "./deployment-table.js";
import { useEvery, useQuery, useThrottled } from "./data.js";
import { ErrorList } from "./errors.js";
import { formatTime, isActive, prettyJson } from "./format.js";
import { GitHooks } from "./git-hooks.js";
import { html, useEffect, useState } from "./lib.js";
import { onReconnect, subscribe } from "./live.js";
import { DEPLOYMENT_FEED, SERVICE } from "./queries.js";
import { links, navigate } from "./router.js";
import { useCan } from "./viewer.js";

function DeployForm({ service }) {
  const [tag, setTag] = useState("");
  const [ref, setRef] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const fromRepository = Boolean(service.declaredConfig?.source?.repository);
  const takesTag = service.sourceType !== "DOCKERFILE";
  const takesRef = fromRepository;
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    const input = { serviceId: service.id, reason: reason || null };
    if (takesTag && tag) input.imageTag = tag;
    if (takesRef && ref) input.ref = ref;
    const result = await startDeployment(input);
    setBusy(false);
    if (result.errors) setErrors(result.errors);
    else navigate(links.deployment(result.deployment.id));
  };
  return html`<form class="deploy-form" onSubmit=${submit} aria-labelledby="deploy-title">
    <h2 id="deploy-title">Deploy</h2>
    ${takesTag && html`<${Control} id="deploy-tag" label="Image tag"><input id="deploy-tag" name="imageTag" value=${tag} onInput=${(e) => setTag(e.currentTarget.value)} placeholder="as declared" /><//>`}
    ${takesRef && html`<${Control} id="deploy-ref" label="Git ref"><input id="deploy-ref" name="ref" value=${ref} onInput=${(e) => setRef(e.currentTarget.value)} placeholder="as declared" /><//>`}
    <${Control} id="deploy-reason" label="Reason"><input id="deploy-reason" name="reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /><//>
    <button type="submit" disabled=${busy}>Deploy</button>
    <${ErrorList} errors=${errors} />
  </form>`;
}

function RowActions({ deployment, service, currentId, onErrors }) {
  const canCancel = useCan("deploy:cancel");
  const canRollback = useCan("deploy:rollback");
  const buttons = [];
  if (canCancel && isActive(deployment)) {
    const cancel = async () => onErrors((await cancelDeployment(deployment.id)).errors ?? []);
    buttons.push(html`<button type="button" class="danger" onClick=${cancel} aria-label=${`Cancel #${deployment.number}`}>Cancel</button>`);
  }
  if (canRollback && deployment.conclusion === "SUCCEEDED" && deployment.id !== currentId && !service.deletedAt) {
    const rollback = async () => {
      const result = await rollbackDeployment(service.id, deployment.id);
      if (result.errors) onErrors(result.errors);
      else navigate(links.deployment(result.deployment.id));
    };
    buttons.push(html`<button type="button" class="secondary" onClick=${rollback} aria-label=${`Roll back to #${deployment.number}`}>Roll back to this</button>`);
  }
  return buttons;
}

export function ServicePage({ id }) {
  const { data, errors, loading, reload } = useQuery(SERVICE, { id });
  const [actionErrors, setActionErrors] = useState([]);
  const refetch = useThrottled(reload);
  const canDeploy = useCan("deploy:start");
  useEvery(reload); // the observed state (drift)

  useEffect(() => {
    const stop = subscribe(
      { query: DEPLOYMENT_FEED },
      { next: ({ deploymentFeed: event }) => event.deployment.service?.id === id && refetch() },
    );
    const stopReconnect = onReconnect(refetch);
    return () => {
      stop();
      stopReconnect();
    };
  }, [id, refetch]);

  if (loading) return html`<p class="loading">Loading…</p>`;
  const service = data?.service;
  if (!service) return html`<${ErrorList} errors=${errors.length ? errors : [{ message: "No such service." }]} />`;
  const deployments = service.deployments?.nodes ?? [];
  const observed = service.lastObservedState;
  const currentId = observed?.comparedWith?.id ?? deployments.find((d) => d.conclusion === "SUCCEEDED")?.id;
  return html`<article aria-labelledby="service-title">
    <h1 id="service-title">${service.project.name}/${service.environment.name}/${service.name}</h1>
    <p>
      ${service.sourceType} on server ${service.server?.name ?? "?"} ·
      <${DriftBadge} drift=${observed?.drift} />
      ${observed && html` observed <time datetime=${observed.observedAt}>${formatTime(observed.observedAt)}</time>`}
    </p>
    <${ErrorList} errors=${errors} />
    ${canDeploy && !service.deletedAt && html`<${DeployForm} service=${service} />`}
    <h2>Deployments</h2>
    <${ErrorList} errors=${actionErrors} />
    <${DeploymentTable}
      deployments=${deployments}
      caption=${`Deployments of ${service.name}`}
      actions=${(d) => html`<${RowActions} deployment=${d} service=${service} currentId=${currentId} onErrors=${setActionErrors} />`}
    />
    <${GitHooks} hooks=${service.gitHooks} />
    <details>
      <summary>Declared config</summary>
      <pre class="json" tabindex="0">${prettyJson(service.declaredConfig)}</pre>
    </details>
  </article>`;
}
