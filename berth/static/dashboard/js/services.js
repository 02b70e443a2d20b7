// Projects → environments → services, each with its latest deployment and drift.
import { ConclusionBadge, DriftBadge, StatusBadge } from "./badges.js";
import { useEvery, useQuery } from "./data.js";
import { ErrorList } from "./errors.js";
import { html } from "./lib.js";
import { PROJECTS } from "./queries.js";
import { links } from "./router.js";

function ServiceRow({ service }) {
  const latest = service.latestDeployment;
  return html`<li class="service-row">
    <a href=${links.service(service.id)}>${service.name}</a>
    <span class="muted">${service.sourceType} on ${service.server?.name ?? "?"}</span>
    ${service.deletedAt && html`<span class="badge">deleted</span>`}
    <span>${latest
      ? html`latest <a href=${links.deployment(latest.id)}>#${latest.number}</a> <${StatusBadge} status=${latest.status} /> <${ConclusionBadge} conclusion=${latest.conclusion} />`
      : html`<span class="muted">never deployed</span>`}</span>
    ${service.lastObservedState?.comparedWith && html`<span>current <a href=${links.deployment(service.lastObservedState.comparedWith.id)}>#${service.lastObservedState.comparedWith.number}</a></span>`}
    <${DriftBadge} drift=${service.lastObservedState?.drift} />
  </li>`;
}

export function ServicesPage() {
  const { data, errors, loading, reload } = useQuery(PROJECTS);
  useEvery(reload); // latest deployments and drift
  return html`<section aria-labelledby="services-title">
    <h1 id="services-title">Services</h1>
    <${ErrorList} errors=${errors} />
    ${loading && html`<p class="loading">Loading…</p>`}
    ${data?.projects?.length === 0 && html`<p class="empty">No projects.</p>`}
    ${(data?.projects ?? []).map(
      (project) => html`<section class="project" aria-labelledby=${`project-${project.id}`}>
        <h2 id=${`project-${project.id}`}>${project.name}</h2>
        ${project.environments.map((environment) => {
          const services = project.services.filter((s) => s.environment.id === environment.id);
          return html`<section class="environment">
            <h3>${environment.name}</h3>
            ${services.length
              ? html`<ul class="services">${services.map((service) => html`<${ServiceRow} service=${service} />`)}</ul>`
              : html`<p class="muted">No services.</p>`}
          </section>`;
        })}
      </section>`,
    )}
  </section>`;
}
