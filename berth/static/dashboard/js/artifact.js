// "Copy JSON" and "Download JSON": exactly the bytes of GET /api/v1/deployments/{id}/artifact.
import { fetchArtifact } from "./api.js";
import { ErrorList, errorsOf } from "./errors.js";
import { html, useState } from "./lib.js";

function saveBytes(bytes, filename) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function ArtifactButtons({ deploymentId }) {
  const [status, setStatus] = useState(null);
  const [errors, setErrors] = useState([]);
  const act = (what) => async () => {
    setErrors([]);
    try {
      const { bytes, filename } = await fetchArtifact(deploymentId);
      if (what === "copy") {
        await navigator.clipboard.writeText(new TextDecoder().decode(bytes));
        setStatus("Copied the artifact JSON.");
      } else {
        saveBytes(bytes, filename);
        setStatus(`Downloaded ${filename}.`);
      }
    } catch (problem) {
      setStatus(null);
      setErrors(errorsOf(problem));
    }
  };
  return html`<div class="artifact-buttons">
    <button type="button" class="secondary" onClick=${act("copy")}>Copy JSON</button>
    <button type="button" class="secondary" onClick=${act("download")}>Download JSON</button>
    <span class="muted" role="status">${status}</span>
    <${ErrorList} errors=${errors} />
  </div>`;
}
