// Servers: endpoint kind, queue depth, running deployments, last observation.
import { useQuery } from "./data.js";
import { ErrorList } from "./errors.js";
import { formatTime } from "./format.js";
import { html } from "./lib.js";
import { SERVERS, serverLoad } from "./queries.js";

function endpointKind(dockerHost) {
  if (dockerHost.startsWith("unix://")) return "local socket";
  if (dockerHost.startsWith("tcp://")) return "TCP";
  if (dockerHost.startsWith("ssh://")) return "SSH";
  return "other";
}

function useServerLoad(servers) {
  const { query, variables } = serverLoad(servers.map((server) => server.id));
  const load = useQuery(servers.length ? query : "query NoServers { __typename }", variables);
  const count = (alias) => load.data?.[alias]?.totalCount ?? "—";
  return servers.map((_, i) => ({ queued: count(`queued${i}`), running: count(`running${i}`) }));
}

function ServerTable({ servers }) {
  const load = useServerLoad(servers);
  return html`<div class="table-wrap">
    <table class="servers">
      <caption class="visually-hidden">Servers</caption>
      <thead>
        <tr>
          <th scope="col">Name</th><th scope="col">Endpoint</th><th scope="col">Queued</th>
          <th scope="col">Running</th><th scope="col">Reachable</th><th scope="col">Last observation</th><th scope="col">Docker</th>
        </tr>
      </thead>
      <tbody>
        ${servers.map(
          (server, i) => html`<tr data-server=${server.id}>
            <th scope="row">${server.name}</th>
            <td>${endpointKind(server.dockerHost)} <code>${server.dockerHost}</code></td>
            <td class="queued">${load[i].queued} <span class="muted">of ${server.maxQueuedDeployments}</span></td>
            <td class="running">${load[i].running} <span class="muted">of ${server.maxConcurrentDeployments}</span></td>
            <td>${server.reachable === null ? "unknown" : server.reachable ? "yes" : "no"}</td>
            <td><time datetime=${server.lastCheckedAt ?? ""}>${formatTime(server.lastCheckedAt)}</time></td>
            <td>${server.dockerVersion ?? "—"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function ServersPage() {
  const { data, errors, loading } = useQuery(SERVERS);
  return html`<section aria-labelledby="servers-title">
    <h1 id="servers-title">Servers</h1>
    <${ErrorList} errors=${errors} />
    ${loading ? html`<p class="loading">Loading…</p>` : html`<${ServerTable} servers=${data?.servers ?? []} />`}
  </section>`;
}
