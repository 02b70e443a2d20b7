"""GraphQL over HTTP (httpx): one request, one result, errors as one-line exceptions."""

from __future__ import annotations

import json
from collections.abc import Collection
from types import TracebackType
from typing import Any

import httpx

from berth.client.config import ClientConfig
from berth.client.errors import AuthProblem, ServerProblem, ServerUnreachable
from berth.client.graphql_errors import LOGIN_HINT, raise_for_errors

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def unreachable(url: str, error: Exception) -> ServerUnreachable:
    reason = str(error).strip() or type(error).__name__
    return ServerUnreachable(f"server unreachable at {url} ({reason})")


class Api:
    """`async with Api(config) as api: data = await api.execute(QUERY, variables)`."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        headers = {"Accept": "application/json", "User-Agent": "berth-cli"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._http = httpx.AsyncClient(headers=headers, timeout=TIMEOUT)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def execute(
        self, document: str, variables: dict[str, Any] | None = None, required: Collection[str] = ()
    ) -> dict[str, Any]:
        """The `data` of a successful result; raises a ClientError otherwise (also for a
        FORBIDDEN nested field whose path is in `required`, see `raise_for_errors`)."""
        url = self.config.url
        body, status = await self.execute_raw(document, variables)
        errors = body.get("errors") or []
        if status >= 400 and not errors:
            raise ServerProblem(f"server error at {url} (HTTP {status})")
        raise_for_errors(errors, url, required)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ServerProblem(f"{url} returned no data (HTTP {status})")
        return data

    async def execute_raw(
        self, document: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], int]:
        """The GraphQL response body as it came (its `errors` untouched) and the HTTP status;
        raises a ClientError only when there is no GraphQL response (unreachable, 401, 404,
        not JSON)."""
        url = self.config.url
        try:
            response = await self._http.post(
                self.config.graphql_url, json={"query": document, "variables": variables or {}}
            )
        except httpx.HTTPError as error:
            raise unreachable(url, error) from None
        body = _json_body(response)
        if response.status_code == 401:
            message = _first_message(body) or "invalid credential"
            raise AuthProblem(f"credential refused by {url}: {message} ({LOGIN_HINT})")
        if response.status_code == 404:
            raise ServerProblem(
                f"no GraphQL endpoint at {self.config.graphql_url} (HTTP 404): is BERTH_URL right?"
            )
        if body is None:
            raise ServerProblem(f"{url} did not answer as a Berth server (HTTP {response.status_code})")
        return body, response.status_code


def _json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _first_message(body: dict[str, Any] | None) -> str | None:
    errors = (body or {}).get("errors") or []
    return str(errors[0].get("message")) if errors and isinstance(errors[0], dict) else None
