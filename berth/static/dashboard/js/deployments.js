// Deployments: filters by service and status, cursor paging, live through deploymentFeed.
import { graphql } from "./api.js";
import { Control } from "./control.js";
import { DeploymentTable } from "./deployment-table.js";
import { ErrorList } from "./errors.js";
import { useQuery, useThrottled } from "./data.js";
import { html, useEffect, useRef, useState } from "./lib.js";
import { onReconnect, subscribe } from "./live.js";
import { DEPLOYMENT_FEED, DEPLOYMENTS, SERVICE_CHOICES } from "./queries.js";

const PAGE_SIZE = 25;
const STATUSES = ["QUEUED", "PREPARE", "DEPLOY", "FINALIZE", "COMPLETED", "FAILED"];

function Filters({ filter, onChange }) {
  const choices = useQuery(SERVICE_CHOICES);
  const services = (choices.data?.projects ?? []).flatMap((project) =>
    project.services.map((service) => ({ id: service.id, label: `${project.name}/${service.environment.name}/${service.name}` })),
  );
  return html`<form class="filters" onSubmit=${(event) => event.preventDefault()}>
    ${services.length > 0 &&
    html`<${Control} id="filter-service" label="Service">
      <select id="filter-service" value=${filter.serviceId ?? ""} onChange=${(e) => onChange({ ...filter, serviceId: e.currentTarget.value || null })}>
        <option value="">All services</option>
        ${services.map((s) => html`<option value=${s.id}>${s.label}</option>`)}
      </select>
    <//>`}
    <${Control} id="filter-status" label="Status">
      <select id="filter-status" value=${filter.status ?? ""} onChange=${(e) => onChange({ ...filter, status: e.currentTarget.value || null })}>
        <option value="">All statuses</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    <//>
  </form>`;
}

function pageVariables(filter, page) {
  const apiFilter = {};
  if (filter.serviceId) apiFilter.serviceId = filter.serviceId;
  if (filter.status) apiFilter.status = [filter.status];
  const cursor = page.before ? { last: PAGE_SIZE, before: page.before } : { first: PAGE_SIZE, after: page.after ?? null };
  return { ...cursor, filter: apiFilter };
}

export function DeploymentsPage() {
  const [filter, setFilter] = useState({ serviceId: null, status: null });
  const [page, setPage] = useState({});
  const [rows, setRows] = useState(null);
  const shown = useRef(new Set());
  const result = useQuery(DEPLOYMENTS, pageVariables(filter, page));
  const connection = result.data?.deployments;
  const refetch = useThrottled(result.reload);
  const onFirstPage = !page.after && !page.before;

  useEffect(() => {
    setRows(connection?.nodes ?? null);
    shown.current = new Set((connection?.nodes ?? []).map((row) => row.id));
  }, [connection]);

  // A status change of a row on the page patches it; anything new refetches the page.
  useEffect(() => {
    const stop = subscribe(
      { query: DEPLOYMENT_FEED },
      {
        next: ({ deploymentFeed: event }) => {
          const changed = event.deployment;
          if (shown.current.has(changed.id)) {
            setRows((current) => current?.map((row) => (row.id === changed.id ? { ...row, ...changed } : row)) ?? current);
          } else if (onFirstPage) {
            refetch();
          }
        },
      },
    );
    const stopReconnect = onReconnect(refetch);
    return () => {
      stop();
      stopReconnect();
    };
  }, [onFirstPage, refetch]);

  const changeFilter = (next) => {
    setFilter(next);
    setPage({});
  };
  const info = connection?.pageInfo;
  return html`<section aria-labelledby="deployments-title">
    <h1 id="deployments-title">Deployments</h1>
    <${Filters} filter=${filter} onChange=${changeFilter} />
    <${ErrorList} errors=${result.errors} />
    ${rows === null
      ? html`<p class="loading">Loading…</p>`
      : html`<p class="count" aria-live="polite">${connection.totalCount} deployment${connection.totalCount === 1 ? "" : "s"}</p>
          <${DeploymentTable} deployments=${rows} caption="Deployments" />
          <nav class="pager" aria-label="Pages">
            <button type="button" class="secondary" disabled=${onFirstPage || (page.before && !info.hasPreviousPage)}
              onClick=${() => setPage({ before: info.startCursor })}>Newer</button>
            <button type="button" class="secondary" disabled=${!page.before && !info.hasNextPage}
              onClick=${() => setPage({ after: info.endCursor })}>Older</button>
          </nav>`}
  </section>`;
}
