// The logs panel: deploymentLogBatches streamed from afterSeq (so a dropped connection resumes
// right after the last line received), follow/pause, filters by step and stream, search.
import { Control } from "./control.js";
import { ErrorList } from "./errors.js";
import { html, useEffect, useMemo, useRef, useState } from "./lib.js";
import { onReconnect, subscribe } from "./live.js";
import { LogStore } from "./log-store.js";
import { VirtualList } from "./log-list.js";
import { DEPLOYMENT_LOG_BATCHES } from "./queries.js";

const STEPS = ["CLONE", "BUILD", "PULL", "VOLUME", "START", "HEALTH", "FINALIZE"];
const STREAMS = ["STDOUT", "STDERR", "SYSTEM"];

function useLogStream(deploymentId) {
  const store = useRef(new LogStore());
  const [version, setVersion] = useState(0);
  const [state, setState] = useState({ ended: false, errors: [], reconnects: 0 });

  useEffect(() => {
    store.current = new LogStore();
    setVersion(0);
    // graphql-ws serialises this request again when it resubscribes after a drop.
    const request = { query: DEPLOYMENT_LOG_BATCHES, variables: { deploymentId, afterSeq: null } };
    let frame = null;
    const flush = () => {
      frame = null;
      store.current.trim();
      setVersion((v) => v + 1);
    };
    const stop = subscribe(request, {
      next: ({ deploymentLogBatches: batch }) => {
        if (!batch) return;
        let added = false;
        for (const line of batch.lines) added = store.current.add(line) || added;
        if (!added) return;
        request.variables.afterSeq = store.current.lastSeq;
        if (frame === null) frame = requestAnimationFrame(flush);
      },
      error: (errors) => setState((s) => ({ ...s, errors })),
      complete: () => setState((s) => ({ ...s, ended: true })),
    });
    const stopReconnect = onReconnect(() => setState((s) => ({ ...s, reconnects: s.reconnects + 1 })));
    return () => {
      stop();
      stopReconnect();
      if (frame !== null) cancelAnimationFrame(frame);
    };
  }, [deploymentId]);
  return { store: store.current, version, ...state };
}

function LogRow(line) {
  return html`<div class=${`log-row stream-${line.stream.toLowerCase()}`} key=${line.seq} data-seq=${line.seq}>
    <span class="log-seq">${line.seq}</span>
    <span class="log-step">${line.step ?? ""}</span>
    <span class="log-text">${line.text}</span>
  </div>`;
}

export function LogsPanel({ deploymentId }) {
  const { store, version, ended, errors, reconnects } = useLogStream(deploymentId);
  const [follow, setFollow] = useState(true);
  const [step, setStep] = useState("");
  const [stream, setStream] = useState("");
  const [search, setSearch] = useState("");

  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    if (!step && !stream && !needle) return store.lines.slice();
    return store.lines.filter(
      (line) =>
        (!step || line.step === step) &&
        (!stream || line.stream === stream) &&
        (!needle || line.text.toLowerCase().includes(needle)),
    );
  }, [store, version, step, stream, search]);

  const total = store.lines.length;
  return html`<section class="logs" aria-labelledby="logs-title">
    <h2 id="logs-title">Logs</h2>
    <div class="log-controls">
      <button type="button" class="secondary" aria-pressed=${follow} onClick=${() => setFollow(!follow)}>
        ${follow ? "Pause" : "Follow"}
      </button>
      <${Control} id="log-step" label="Step">
        <select id="log-step" value=${step} onChange=${(e) => setStep(e.currentTarget.value)}>
          <option value="">All steps</option>
          ${STEPS.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      <//>
      <${Control} id="log-stream" label="Stream">
        <select id="log-stream" value=${stream} onChange=${(e) => setStream(e.currentTarget.value)}>
          <option value="">All streams</option>
          ${STREAMS.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      <//>
      <${Control} id="log-search" label="Search">
        <input id="log-search" type="search" value=${search} onInput=${(e) => setSearch(e.currentTarget.value)} />
      <//>
    </div>
    <p class="log-status" role="status">
      <span class="log-count">${total} line${total === 1 ? "" : "s"}</span>${shown.length !== total ? `, ${shown.length} shown` : ""}
      ${store.lastSeq > 0 && html` · up to #${store.lastSeq}`}
      ${store.dropped > 0 && html` · ${store.dropped} oldest not kept`}
      ${reconnects > 0 && html` · reconnected`}
      ${ended && html` · <span class="log-ended">end of log</span>`}
    </p>
    <${ErrorList} errors=${errors} />
    <${VirtualList} items=${shown} renderRow=${LogRow} follow=${follow} onScrolledAway=${() => setFollow(false)} label="Log lines" />
  </section>`;
}
