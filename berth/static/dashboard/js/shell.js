// The frame around every page: navigation, who is signed in, sign-out.
import { DeploymentDetails } from "./deployment.js";
import { DeploymentsPage } from "./deployments.js";
import { html } from "./lib.js";
import { links, useRoute } from "./router.js";
import { ServersPage } from "./servers.js";
import { ServicePage } from "./service.js";
import { ServicesPage } from "./services.js";
import { useViewer } from "./viewer.js";

function Page({ route }) {
  if (route.page === "deployments" && route.id) return html`<${DeploymentDetails} id=${route.id} />`;
  if (route.page === "services" && route.id) return html`<${ServicePage} id=${route.id} />`;
  if (route.page === "services") return html`<${ServicesPage} />`;
  if (route.page === "servers") return html`<${ServersPage} />`;
  return html`<${DeploymentsPage} />`;
}

export function Shell({ onSignOut }) {
  const route = useRoute();
  const viewer = useViewer();
  const current = (page) => (route.page === page ? "page" : undefined);
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href=${links.deployments()}>Berth</a>
      <nav aria-label="Main">
        <a href=${links.deployments()} aria-current=${current("deployments")}>Deployments</a>
        <a href=${links.services()} aria-current=${current("services")}>Services</a>
        <a href=${links.servers()} aria-current=${current("servers")}>Servers</a>
      </nav>
      <div class="who">
        <span class="viewer" title=${viewer.scopes.join(" ")}>${viewer.email ?? viewer.subject}${viewer.role ? ` (${viewer.role.toLowerCase()})` : ""}</span>
        <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main id="main"><${Page} route=${route} /></main>
  </div>`;
}
