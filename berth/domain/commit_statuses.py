"""Commit statuses: what a hook needs to report them, and each provider's request.

Which deployments report and when is decided where their status changes
(`berth.models.commit_outbox`); the sender (`berth.runner.status_sender`) carries the
requests built here. Provider specifics live in this module only:

| Provider | Request | Token header | States |
|---|---|---|---|
| GitHub | `POST {api}/repos/{owner}/{repo}/statuses/{sha}` | `Authorization: Bearer` | pending success failure error |
| GitLab | `POST {api}/projects/{url-encoded path}/statuses/{sha}` | `PRIVATE-TOKEN` | pending success failed canceled |
| Gitea | `POST {api}/repos/{owner}/{repo}/statuses/{sha}` | `Authorization: token` | pending success failure error |

`{api}` is the hook's `statusApiUrl`, the API root including any version path:
`https://api.github.com` (GitHub's default), `https://HOST/api/v3` for GitHub Enterprise,
`https://HOST/api/v4` for GitLab, `https://HOST/api/v1` for Gitea.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from berth.domain.errors import ErrorList, FieldPath
from berth.domain.grammars import http_url_problem
from berth.domain.secrets import encrypt
from berth.models.enums import CommitState, GitProvider
from berth.models.git import GitHook

DEFAULT_API_URLS: dict[GitProvider, str] = {GitProvider.GITHUB: "https://api.github.com"}
API_URL_EXAMPLES: dict[GitProvider, str] = {
    GitProvider.GITHUB: "https://api.github.com (GitHub Enterprise: https://HOST/api/v3)",
    GitProvider.GITLAB: "https://gitlab.example.com/api/v4",
    GitProvider.GITEA: "https://gitea.example.com/api/v1",
}
# The column's size.
MAX_API_URL = 512
MAX_TOKEN = 1024
USER_AGENT = "berth-commit-status"

# GitLab's names for GitHub's states (GitLab has no `error`: a canceled or superseded
# deployment is `canceled` there).
_GITLAB_STATES: dict[CommitState, str] = {
    CommitState.PENDING: "pending",
    CommitState.SUCCESS: "success",
    CommitState.FAILURE: "failed",
    CommitState.ERROR: "canceled",
}


def api_url_problem(url: str) -> str | None:
    """An absolute http(s) URL without credentials, query or fragment (the token has its
    own field, kept encrypted)."""
    return http_url_problem(url, MAX_API_URL, allow_query=False, credentials_hint="; give the token as statusToken")


def token_problem(token: str) -> str | None:
    # Never echo the value: it is a credential.
    if not token:
        return "must not be empty"
    if len(token) > MAX_TOKEN:
        return f"must be at most {MAX_TOKEN} characters"
    if not all(0x21 <= ord(ch) <= 0x7E for ch in token):
        return "must be printable ASCII without spaces (as provider tokens are)"
    return None


@dataclass(frozen=True)
class StatusSettings:
    """What a new hook stores to report statuses: both set, or both None."""

    api_url: str | None
    token_enc: str | None


def check_status_settings(
    provider: GitProvider, api_url: str | None, token: str | None, errors: ErrorList, path: FieldPath
) -> StatusSettings:
    """Validate a hook's optional status API URL and token; nothing is encrypted unless both
    are right. A token alone uses the provider's public API (GitHub only)."""
    url_field, token_field = [*path, "statusApiUrl"], [*path, "statusToken"]
    problems = 0
    if api_url is not None and (problem := api_url_problem(api_url)):
        errors.add(url_field, f"statusApiUrl {problem}")
        problems += 1
    if token is not None and (problem := token_problem(token)):
        errors.add(token_field, f"statusToken {problem}")
        problems += 1
    if token is None and api_url is not None:
        errors.add(token_field, "statusToken is needed with statusApiUrl (statuses are sent with it)")
        problems += 1
    if token is not None and api_url is None and provider not in DEFAULT_API_URLS:
        errors.add(url_field, f"statusApiUrl is needed for {provider.value} statuses: the API root of "
                              f"your server, e.g. {API_URL_EXAMPLES[provider]}")
        problems += 1
    if problems or token is None:
        return StatusSettings(None, None)
    base = api_url if api_url is not None else DEFAULT_API_URLS[provider]
    return StatusSettings(base.rstrip("/"), encrypt(token))


def reports_statuses(hook: GitHook) -> bool:
    return bool(hook.status_token_enc)


def context_name(environment: str, service: str, pull_request: int | None = None) -> str:
    """The status's name on the commit: one per service and environment (and preview), so two
    services deployed from one repository do not overwrite each other's status."""
    name = f"berth/{environment}/{service}"
    return f"{name}/pr-{pull_request}" if pull_request is not None else name


@dataclass(frozen=True)
class StatusRequest:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


def build_request(
    hook: GitHook,
    token: str,
    *,
    sha: str,
    state: CommitState,
    description: str,
    context: str,
    target_url: str | None,
) -> StatusRequest:
    """The provider's create-status request for `hook`'s repository (token in the header only)."""
    api = (hook.status_api_url or DEFAULT_API_URLS.get(hook.provider) or "").rstrip("/")
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    body: dict[str, Any] = {"description": description}
    if target_url is not None:
        body["target_url"] = target_url
    if hook.provider is GitProvider.GITLAB:
        url = f"{api}/projects/{quote(hook.repository, safe='')}/statuses/{sha}"
        headers["PRIVATE-TOKEN"] = token
        body.update(state=_GITLAB_STATES[state], name=context)
    else:
        owner, _, name = hook.repository.partition("/")
        url = f"{api}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/statuses/{sha}"
        if hook.provider is GitProvider.GITHUB:
            headers.update(Authorization=f"Bearer {token}", Accept="application/vnd.github+json")
            headers["X-GitHub-Api-Version"] = "2022-11-28"
        else:
            headers.update(Authorization=f"token {token}", Accept="application/json")
        body.update(state=state.value, context=context)
    return StatusRequest(url=url, headers=headers, body=body)
