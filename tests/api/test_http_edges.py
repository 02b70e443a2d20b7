"""The edges of the HTTP API against the real server: client-made arguments (moments,
cursors, ids) that are out of range or malformed, malformed requests, operation selection,
media types and the headers of every answer. Whatever the client sends, the answer is a
coded error, never INTERNAL_SERVER_ERROR, never a 5xx, never plain text."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx

from berth.schema.ids import to_global_id

from .conftest import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def cursor(payload: Any) -> str:
    return b64(json.dumps(payload))


def send(api: Api, body: Any = None, *, content: bytes | None = None, method: str = "POST",
         headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    if content is None and body is not None:
        # json.dumps escapes non-ASCII (httpx would refuse to encode a lone surrogate).
        content = json.dumps(body).encode()
        headers = {"content-type": "application/json", **(headers or {})}
    response = api.http.request(method, api.server.url + "/graphql", content=content, headers=headers,
                                params=params)
    api.transcript.append(response.text)
    return response


def assert_coded(response: httpx.Response, case: object) -> list[dict[str, Any]]:
    """A JSON answer below 500 whose every error has a code, none of them internal."""
    assert response.status_code < 500, (case, response.status_code, response.text)
    assert response.headers["content-type"].startswith(("application/json", GRAPHQL_RESPONSE)), (case, response)
    errors: list[dict[str, Any]] = response.json().get("errors") or []
    assert errors, (case, response.text)
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    assert all(codes) and "INTERNAL_SERVER_ERROR" not in codes, (case, response.text)
    return errors


# ---------------------------------------------------------------- arguments (defect 6)

DEPLOYMENTS = """query P($after: String, $before: String, $filter: DeploymentFilter) {
  deployments(first: 5, after: $after, before: $before, filter: $filter) { totalCount } }"""
LOGS = "query L($id: ID!, $after: String) { deployment(id: $id) { logs(after: $after) { edges { cursor } } } }"
VALID_MOMENT = "2024-01-01T00:00:00+00:00"

# Moments that parse but leave the datetime range in UTC, and some that do not parse.
NASTY_MOMENTS = [
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59.999999-00:01",
    "2024-13-01T00:00:00Z", "not a date", "٢٠٢٤-01-01T00:00:00Z", "2024-01-01T00:00:00+99:00", "",
]
# Deployment cursors (keyset positions): numbers out of range or not integers, moments out of
# range, another connection's cursor, bytes that are not base64url or not UTF-8.
NASTY_CURSORS = [
    cursor({"t": VALID_MOMENT, "i": 10**30}), cursor({"t": VALID_MOMENT, "i": -1}),
    cursor({"t": VALID_MOMENT, "i": 0}), cursor({"t": VALID_MOMENT, "i": 1.5}),
    cursor({"t": VALID_MOMENT, "i": True}), cursor({"t": VALID_MOMENT, "i": "7"}),
    b64('{"t":"2024-01-01T00:00:00+00:00","i":1e999}'), b64('{"t":"2024-01-01T00:00:00+00:00","i":NaN}'),
    b64('{"t":"2024-01-01T00:00:00+00:00","i":Infinity}'),
    cursor({"t": "9999-12-31T23:59:59-05:00", "i": 1}), cursor({"t": "0001-01-01T00:00:00+05:00", "i": 1}),
    cursor({"t": 5, "i": 1}), cursor({"t": VALID_MOMENT}), cursor({"s": 1}), cursor([1, 2]), cursor(None),
    b64("[" * 300), "%%%", "é" + cursor({"t": VALID_MOMENT, "i": 1}), "A", "====", "\ud800", "x" * 5000,
    base64.urlsafe_b64encode(b"\xff\xfe").decode(), "5",
]
NASTY_LOG_CURSORS = ["-1", "99999999999", "1e3", "²", "٣", cursor({"t": VALID_MOMENT, "i": 1}), "", " 1"]
NASTY_IDS = [
    b64("Deployment:²"), b64("Deployment:٣"), b64("Deployment:" + "9" * 40), b64("Deployment:-1"),
    b64("Deployment:"), b64(":1"), b64("\x00:1"), "%%%", "\ud800", "x" * 5000, "", b64("Deployment:1") + "é",
    base64.urlsafe_b64encode(b"Deployment:\xff").decode(),
]


async def setup(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A service with one deployment (made once per server), and the owner's header."""
    if "edges" not in api.server.cache:
        service = await api.create_service()
        api.server.cache["edges"] = (service, await api.start(service, selection="id"))
    service, deployment = api.server.cache["edges"]
    return service, deployment, {"Authorization": f"Bearer {await api.token()}"}


async def test_out_of_range_and_malformed_moments_get_coded_errors(api: Api) -> None:
    service, _, auth = await setup(api)
    for moment in NASTY_MOMENTS:
        for name in ("createdAfter", "createdBefore"):
            # As a variable: the error names the variable and the input field.
            response = send(api, {"query": DEPLOYMENTS, "variables": {"filter": {name: moment}}}, headers=auth)
            errors = assert_coded(response, (name, moment))
            assert response.json()["data"] is None and name in errors[0]["message"], (name, moment, errors)
            # As a literal: the error points at the value in the document.
            literal = "{ deployments(filter: {" + f"{name}: {json.dumps(moment)}" + "}) { totalCount } }"
            errors = assert_coded(send(api, {"query": literal}, headers=auth), (name, moment, "literal"))
            assert errors[0].get("locations"), errors
    # A bound in range with an offset still works, converted to UTC.
    body = send(api, {"query": DEPLOYMENTS, "variables": {"filter": {
        "serviceId": service["id"], "createdAfter": "2000-01-01T00:00:00-05:00"}}}, headers=auth).json()
    assert body == {"data": {"deployments": {"totalCount": 1}}}, body


async def test_made_up_cursors_get_coded_errors_naming_the_argument(api: Api) -> None:
    _, deployment, auth = await setup(api)
    for value in NASTY_CURSORS:
        for name in ("after", "before"):
            response = send(api, {"query": DEPLOYMENTS, "variables": {name: value}}, headers=auth)
            errors = assert_coded(response, (name, value))
            assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in errors] == [
                ("BAD_USER_INPUT", [name])], (name, value, errors)

    for value in NASTY_LOG_CURSORS:
        response = send(api, {"query": LOGS, "variables": {"id": deployment["id"], "after": value}}, headers=auth)
        errors = assert_coded(response, ("logs.after", value))
        assert errors[0]["extensions"].get("field") == ["after"], (value, errors)


async def test_made_up_ids_name_nothing(api: Api) -> None:
    _, _, auth = await setup(api)
    for value in NASTY_IDS:
        for query in ('query Q($id: ID!) { node(id: $id) { id } }',
                      'query Q($id: ID!) { deployment(id: $id) { id } }',
                      'query Q($id: ID!) { service(id: $id) { id } }'):
            response = send(api, {"query": query, "variables": {"id": value}}, headers=auth)
            assert response.status_code == 200, (query, value, response.text)
            body = response.json()
            assert body.get("errors") is None and list(body["data"].values()) == [None], (query, value, body)
        if not value:
            continue  # an empty filter id means no filter (as it always has)
        response = send(api, {"query": DEPLOYMENTS, "variables": {"filter": {"serviceId": value}}}, headers=auth)
        errors = assert_coded(response, ("filter.serviceId", value))
        assert errors[0]["extensions"].get("field") == ["filter", "serviceId"], (value, errors)
        segment = quote(value.encode("utf-8", "surrogatepass"), safe="")
        artifact = api.http.get(f"{api.server.url}/api/v1/deployments/{segment}/artifact", headers=auth)
        assert artifact.status_code == 404, (value, artifact.text)
        assert artifact.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------- requests (defect 7)

def test_malformed_requests_get_coded_400s(api: Api) -> None:
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        ("null", b"null", json_type, 400), ("string", b'"{ __typename }"', json_type, 400),
        ("number", b"1", json_type, 400), ("true", b"true", json_type, 400),
        ("batch", b'[{"query": "{ __typename }"}]', json_type, 400), ("empty array", b"[]", json_type, 400),
        ("no query", b"{}", json_type, 400), ("null query", b'{"query": null}', json_type, 400),
        ("query not a string", b'{"query": 5}', json_type, 400),
        ("variables a list", b'{"query": "{ __typename }", "variables": []}', json_type, 400),
        ("variables a string", b'{"query": "{ __typename }", "variables": "{}"}', json_type, 400),
        ("operationName a number", b'{"query": "{ __typename }", "operationName": 5}', json_type, 400),
        ("extensions a list", b'{"query": "{ __typename }", "extensions": [1]}', json_type, 400),
        ("invalid JSON", b"{bad", json_type, 400), ("empty body", b"", json_type, 400),
        ("NaN", b'{"query": "{ __typename }", "variables": {"x": NaN}}', json_type, 400),
        ("not UTF-8", b'{"query": "\xff"}', json_type, 400),
        ("nested too deep", b"[" * 100_000, json_type, 400),
        ("text/plain", b'{"query": "{ __typename }"}', {"content-type": "text/plain"}, 415),
        ("no content type", b'{"query": "{ __typename }"}', {}, 415),
        ("form", b"query=%7B__typename%7D", {"content-type": "application/x-www-form-urlencoded"}, 415),
        ("latin-1", b'{"query": "{ __typename }"}', {"content-type": "application/json; charset=latin-1"}, 415),
    ]
    for case, content, headers, status in cases:
        response = send(api, content=content, headers=headers)
        assert response.status_code == status, (case, response.status_code, response.text)
        errors = assert_coded(response, case)
        assert errors[0]["extensions"]["code"] == ("BAD_REQUEST" if status == 400 else "UNSUPPORTED_MEDIA_TYPE")

    for case, params in [("GET variables not an object", {"query": "{ __typename }", "variables": "[1]"}),
                         ("GET variables not JSON", {"query": "{ __typename }", "variables": "{x"}),
                         ("GET extensions a list", {"query": "{ __typename }", "extensions": "[]"})]:
        response = send(api, method="GET", params=params)
        assert response.status_code == 400, (case, response.text)
        assert_coded(response, case)
    # Well-formed requests still work, over both methods.
    assert send(api, {"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}
    assert send(api, method="GET", params={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}


# ---------------------------------------------------------------- operations (defect 8)

def test_the_operation_to_run_must_be_determined(api: Api) -> None:
    two = "query A { a: __typename } query B { b: __typename }"
    for case, body in [("several, no name", {"query": two}), ("unknown name", {"query": two, "operationName": "C"}),
                       ("unknown name, one operation", {"query": "query A { __typename }", "operationName": "B"})]:
        response = send(api, body)
        assert response.status_code == 200, (case, response.text)  # application/json: legacy 200
        assert response.json()["data"] is None, (case, response.text)  # nothing was executed
        assert assert_coded(response, case)[0]["extensions"]["code"] == "BAD_REQUEST"
    assert send(api, {"query": two, "operationName": "B"}).json() == {"data": {"b": "Query"}}


def test_subscriptions_are_refused_over_http_and_mutations_over_get(api: Api) -> None:
    subscription = "subscription { deploymentFeed { seq } }"
    for method, request in [("POST", {"body": {"query": subscription}}),
                            ("GET", {"params": {"query": subscription}})]:
        response = send(api, method=method, **request)  # type: ignore[arg-type]
        assert response.status_code == 400, (method, response.text)
        assert "WebSocket" in assert_coded(response, method)[0]["message"]
    mutation = 'mutation { revokeApiToken(id: "x") { errors { code } } }'
    response = send(api, method="GET", params={"query": mutation})
    assert response.status_code == 405 and response.headers["allow"] == "POST", response.text
    assert assert_coded(response, "mutation over GET")[0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    for method in ("PUT", "DELETE", "PATCH"):
        response = send(api, {"query": "{ __typename }"}, method=method)
        assert response.status_code == 405 and response.headers["allow"] == "GET, POST", (method, response.text)
        assert_coded(response, method)


# ---------------------------------------------------------------- media types (defect 9)

def test_accept_chooses_the_media_type_and_the_status_of_request_errors(api: Api) -> None:
    broken, invalid, fine = "{ __typename", "{ nope }", "{ __typename }"
    graphql_response = {"accept": GRAPHQL_RESPONSE}
    for query in (broken, invalid):
        response = send(api, {"query": query}, headers=graphql_response)
        assert response.status_code == 400, (query, response.text)
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json() and assert_coded(response, query)
    response = send(api, {"query": fine}, headers=graphql_response)
    assert response.status_code == 200 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    # A field error is not a request error: 200, with data.
    response = send(api, {"query": "{ viewer { subject } }"}, headers=graphql_response)
    assert response.status_code == 200 and response.json()["data"] == {"viewer": None}, response.text
    # Authentication's own refusal is labelled with the negotiated type too.
    response = send(api, {"query": fine}, headers={**graphql_response, "authorization": "Bearer nope"})
    assert response.status_code == 401 and response.headers["content-type"].startswith(GRAPHQL_RESPONSE)

    # application/json, */* and no Accept: the legacy answers (200 for request errors).
    for accept in ("application/json", "*/*", "application/*", None, "application/json;q=0.5, text/plain"):
        headers = {"accept": accept} if accept else {}
        response = send(api, {"query": broken}, headers=headers)
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"].startswith("application/json"), (accept, response.headers)
        assert response.json()["data"] is None
    preferred = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    assert send(api, {"query": fine}, headers=preferred).headers["content-type"].startswith(GRAPHQL_RESPONSE)

    for accept in ("text/plain", "application/xml", "application/json;q=0", "image/*", "text/html"):
        response = send(api, {"query": fine}, headers={"accept": accept})
        assert response.status_code == 406, (accept, response.text)
        assert assert_coded(response, accept)[0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_every_api_answer_says_nosniff_and_no_store(api: Api) -> None:
    token = await api.token()
    service = await api.create_service()
    deployment = await api.start(service, selection="id")
    auth = {"Authorization": f"Bearer {token}"}
    url = api.server.url
    answers = {
        "graphql": send(api, {"query": "{ __typename }"}),
        "graphql request error": send(api, content=b"null", headers={"content-type": "application/json"}),
        "graphql 401": send(api, {"query": "{ __typename }"}, headers={"authorization": "Bearer nope"}),
        "graphql 406": send(api, {"query": "{ __typename }"}, headers={"accept": "text/plain"}),
        "graphiql": api.http.get(url + "/graphql", headers={"accept": "text/html"}),
        "healthz": api.http.get(url + "/healthz"),
        "readyz": api.http.get(url + "/readyz"),
        "artifact": api.http.get(f"{url}/api/v1/deployments/{deployment['id']}/artifact", headers=auth),
        "artifact 404": api.http.get(f"{url}/api/v1/deployments/{to_global_id('Deployment', 10**15)}/artifact",
                                     headers=auth),
        "artifact 401": api.http.get(f"{url}/api/v1/deployments/{deployment['id']}/artifact"),
    }
    assert answers["artifact"].status_code == 200, answers["artifact"].text
    for name, response in answers.items():
        assert response.headers.get("x-content-type-options") == "nosniff", (name, response.headers)
        assert response.headers.get("cache-control") == "no-store", (name, response.headers)
