"""GraphiQL works without internet access: the page and every file it loads come from Berth.

In-process checks of the page and its assets, then a real browser (Debian's chromium) against
a live `berth serve`: the editor renders and GraphiQL's own requests reach the API.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from berth.app import create_app
from berth.http.graphiql import ASSET_DIR, ASSET_TYPES
from berth.settings import Settings
from tests.services import skip_or_fail
from tests.support.live_server import TEST_SECRET_KEY, LiveServer
from tests.support.polling import wait_until

REPO = Path(__file__).resolve().parents[2]
PAGE = "http://testserver/graphql"
HTML = {"accept": "text/html"}


class References(HTMLParser):
    """Every URL the page makes the browser load: (tag, kind, url, integrity)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attribute in ("src", "href"):
            url = values.get(attribute)
            if url is not None:
                self.found.append((tag, values.get("rel") or "", url, values.get("integrity")))


def page_references(html: str) -> list[tuple[str, str, str, str | None]]:
    parser = References()
    parser.feed(html)
    return parser.found


def settings_for(tmp_path: Path, production: bool = False) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite://{tmp_path / 'berth.sqlite3'}",
        secret_key=TEST_SECRET_KEY,
        docker_host="unix:///nonexistent.sock",
        production=production,
    )


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    # No lifespan: serving the page and its files needs no database.
    return TestClient(create_app(settings_for(tmp_path), migrate=False))


def test_the_page_references_no_external_url(client: TestClient) -> None:
    response = client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    references = page_references(response.text)
    assert any(url.endswith("graphiql.min.js") for _, _, url, _ in references)
    for _, _, url, _ in references:
        absolute = urlsplit(urljoin(PAGE, url))
        assert absolute.scheme == "data" or absolute.netloc == "testserver", url
    # The browser enforces it too: only this origin may be loaded or connected to.
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "http" not in policy


def test_every_referenced_asset_is_served_with_its_type_and_published_bytes(client: TestClient) -> None:
    references = page_references(client.get("/graphql", headers=HTML).text)
    assets = [(tag, rel, url, integrity) for tag, rel, url, integrity in references if not url.startswith("data:")]
    assert len(assets) == len(ASSET_TYPES)
    for tag, rel, url, integrity in assets:
        response = client.get(urljoin(PAGE, url))
        assert response.status_code == 200, url
        expected = "text/javascript" if tag == "script" else "text/css"
        assert tag == "script" or rel == "stylesheet", url
        assert response.headers["content-type"].split(";")[0] == expected, url
        assert response.headers["x-content-type-options"] == "nosniff"
        if integrity is not None:
            # The hashes are the ones Strawberry's page pins for the CDN files: same bytes.
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url


@pytest.mark.parametrize("name", ["VENDORED.md", "LICENSE.react", "index.html", "..%2Fapp.py", "nope.js"])
def test_only_the_page_assets_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/static/graphiql/{name}").status_code == 404


def test_production_serves_neither_the_page_nor_its_assets(tmp_path: Path) -> None:
    client = TestClient(create_app(settings_for(tmp_path, production=True), migrate=False))
    page = client.get("/graphql", headers=HTML)
    assert "graphiql" not in page.text.lower()
    assert client.get("/static/graphiql/graphiql.min.js").status_code == 404


def test_the_assets_are_package_data() -> None:
    """A wheel carries only the files pyproject's package-data names: all of these must match."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["berth"]
    shipped = [p.relative_to(REPO / "berth").as_posix() for p in ASSET_DIR.iterdir()]
    for name in [*ASSET_TYPES, "index.html", "VENDORED.md"]:
        assert (ASSET_DIR / name).is_file(), name
    for path in shipped:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path


# ---------------------------------------------------------------- live server, real browser


def chromium_command(profile: Path, *extra: str) -> list[str]:
    chromium = shutil.which("chromium")
    if chromium is None:
        skip_or_fail("chromium is not installed (Debian package `chromium`, see scripts/test-services)")
    return [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        *extra,
    ]


def viewer_token(server: LiveServer) -> str:
    return subprocess.run(
        [sys.executable, "-m", "berth", "token", "create", "--name", "graphiql", "--role", "viewer"],
        env={**os.environ, **server.env}, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_graphiql_renders_offline_in_a_real_browser(live_server: LiveServer, tmp_path: Path) -> None:
    command = chromium_command(
        tmp_path / "chromium-profile", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
        "--dump-dom", live_server.url + "/graphql",
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # React replaced "Loading…" with GraphiQL's editor (CodeMirror inside it).
    assert "graphiql-container" in dom and "graphiql-editor" in dom and "CodeMirror" in dom, dom[-2000:]
    assert "Loading…" not in dom
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Content Security Policy" in line], console
    # GraphiQL fetched the schema from the page's own URL (introspection POST, answered 200).
    assert '"POST /graphql HTTP/1.1" 200' in live_server.log()


# GraphiQL's own fetcher, as the page builds it, asked for a subscription with the Headers
# editor's content: it must go over the WebSocket to the page's origin, under the page's CSP.
SUBSCRIBE_LIKE_GRAPHIQL = """(async () => {
  const url = location.origin + "/graphql";
  const fetcher = GraphiQL.createFetcher({url, subscriptionUrl: url.replace(/^http/, "ws")});
  const result = await fetcher(
    {query: 'subscription { deploymentLogs(deploymentId: "RGVwbG95bWVudDox") { seq } }'},
    // The editor hands the fetcher the parsed document; that is how it tells a subscription
    // (WebSocket) from a query (HTTP). A minimal AST of one anonymous subscription does it.
    {headers: %s, documentAST: {kind: "Document", definitions: [
      {kind: "OperationDefinition", operation: "subscription"}]}},
  );
  const first = await result[Symbol.asyncIterator]().next();
  return JSON.stringify(first.value);
})().catch((error) =>
  // graphql-ws rejects with the `error` message's GraphQL errors when the server refuses
  // the operation at subscribe time; anything else (a close event, a network error) failed.
  Array.isArray(error) ? JSON.stringify({errors: error}) : "failed: " + JSON.stringify(error))"""


class DevTools:
    """The Chrome DevTools protocol over the page target's WebSocket: just Runtime.evaluate."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.next_id = 0

    def evaluate(self, expression: str) -> object:
        self.next_id += 1
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        self.socket.send(json.dumps({"id": self.next_id, "method": "Runtime.evaluate", "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                return message["result"]["result"].get("value")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_graphiql_subscribes_over_the_websocket_from_the_browser(live_server: LiveServer, tmp_path: Path) -> None:
    profile = tmp_path / "chromium-profile"
    command = chromium_command(profile, "--remote-debugging-port=0", live_server.url + "/graphql")
    browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        port = wait_until(lambda: port_file.exists() and port_file.read_text().split()[0], 60, "chromium's port")
        targets_url = f"http://127.0.0.1:{port}/json/list"

        def page_target() -> str | None:
            pages = [t for t in httpx.get(targets_url, timeout=5).json() if t["type"] == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        page_url = wait_until(page_target, 30, "the page's DevTools target")
        with connect(page_url, max_size=None, open_timeout=10) as socket:
            devtools = DevTools(socket)
            loaded = "typeof GraphiQL !== 'undefined' && typeof GraphiQL.createFetcher"
            wait_until(lambda: devtools.evaluate(loaded) == "function", 60, "GraphiQL loaded")

            def subscribe(headers: str) -> dict[str, Any]:
                answer = str(devtools.evaluate(SUBSCRIBE_LIKE_GRAPHIQL % headers))
                assert not answer.startswith("failed:"), answer
                return json.loads(answer)  # type: ignore[no-any-return]

            anonymous = subscribe("{}")
            assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", anonymous
            # A viewer has deploy:read but not logs:read: FORBIDDEN proves the credential arrived.
            headers = json.dumps({"Authorization": f"Bearer {viewer_token(live_server)}"})
            viewer = subscribe(headers)
            assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN", viewer
            assert viewer["errors"][0]["extensions"]["missingScopes"] == ["logs:read"], viewer
    finally:
        browser.terminate()
        browser.wait(timeout=30)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_graphiql_style_websocket_carries_the_headers_editor_credential(live_server: LiveServer) -> None:
    """GraphiQL opens ws://<page>/graphql with graphql-transport-ws from the page's origin and
    sends the Headers editor's JSON as connection_init payload: {"Authorization": "Bearer …"}."""
    token = viewer_token(live_server)
    url = live_server.url.replace("http://", "ws://") + "/graphql"
    options = {"subprotocols": ["graphql-transport-ws"], "origin": live_server.url, "open_timeout": 10}

    with connect(url, **options) as ws:  # type: ignore[arg-type]
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { role } }"}}))
        message = json.loads(ws.recv(timeout=10))
        while message["type"] == "ping":
            message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "next" and message["payload"]["data"]["viewer"]["role"] == "VIEWER"

    with connect(url, **options) as ws:  # type: ignore[arg-type]
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer berth_pat_wrong"}}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
