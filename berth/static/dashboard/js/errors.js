// Errors in words: GraphQL errors (UNAUTHENTICATED, FORBIDDEN naming the missing scopes …)
// and the payload errors of mutations (a UserErrorCode and the offending input field).
import { html } from "./lib.js";

const CODE_WORDS = {
  FORBIDDEN: "Not allowed",
  UNAUTHENTICATED: "Not signed in",
  INVALID_INPUT: "Invalid input",
  NOT_FOUND: "Not found",
  CONFLICT: "Conflict",
  NOT_CANCELABLE: "Cannot be canceled",
  NO_ROLLBACK_TARGET: "Nothing to roll back to",
  QUEUE_FULL: "The server's queue is full",
  IDEMPOTENCY_KEY_REUSED: "Idempotency key already used",
  QUERY_TOO_COMPLEX: "Request too large",
};

export function describeError(error) {
  const code = error.code ?? error.extensions?.code;
  const words = CODE_WORDS[code] ?? "Error";
  const field = error.field?.length ? ` (${error.field.filter((part) => part !== "input").join(".")})` : "";
  return `${words}${field}: ${error.message}`;
}

export function ErrorList({ errors }) {
  if (!errors?.length) return null;
  return html`<div class="errors" role="alert">
    ${errors.map((error) => html`<p>${describeError(error)}</p>`)}
  </div>`;
}

// The errors of a failed request (RequestFailed) or a thrown error, as a list.
export function errorsOf(problem) {
  if (problem?.errors?.length) return problem.errors;
  return [{ message: problem?.message ?? String(problem) }];
}
