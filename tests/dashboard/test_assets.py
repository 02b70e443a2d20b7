"""The dashboard's page and files, in process: what is served, with which headers, the
vendored builds byte for byte, the size budget, and that they ship in the package."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.testclient import TestClient

from berth.app import create_app
from berth.http.dashboard import ASSET_DIR, served_assets
from berth.settings import Settings
from tests.support.live_server import TEST_SECRET_KEY

REPO = Path(__file__).resolve().parents[2]
PAGE = "http://testserver/"
BUDGET_BYTES = 300 * 1024
IMPORT = re.compile(r'^import [^"]*"(\./[^"]+)";', re.MULTILINE)


class References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []  # (tag, url, integrity)
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") or values.get("href")
        if url is not None:
            self.found.append((tag, url, values.get("integrity")))
        self._in_script = tag == "script" and "src" not in values
        if "style" in values or any(name.startswith("on") for name in values):
            raise AssertionError(f"inline style or handler on <{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


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
    return TestClient(create_app(settings_for(tmp_path), migrate=False))


def page_references(client: TestClient) -> References:
    parser = References()
    parser.feed(client.get("/").text)
    return parser


def test_the_page_is_at_the_root_under_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    assert response.headers["cache-control"] == "no-store"
    assert page_references(client).inline_scripts == 0


def test_graphiql_stays_at_graphql(client: TestClient) -> None:
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_every_file_the_page_loads_is_served_from_here_with_its_pinned_bytes(client: TestClient) -> None:
    references = [ref for ref in page_references(client).found if not ref[1].startswith("data:")]
    assert {url.rsplit("/", 1)[1] for _, url, _ in references} >= {
        "dashboard.css", "preact.min.umd.js", "preact-hooks.umd.js", "htm.umd.js", "graphql-ws.min.js", "main.js",
    }  # fmt: skip
    for tag, url, integrity in references:
        absolute = urljoin(PAGE, url)
        assert urlsplit(absolute).netloc == "testserver", url
        response = client.get(absolute)
        assert response.status_code == 200, url
        kind = "text/javascript" if tag == "script" else "text/css"
        assert response.headers["content-type"].split(";")[0] == kind, url
        assert response.headers["x-content-type-options"] == "nosniff"
        if "/vendor/" in url:
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url


def test_every_module_the_dashboard_imports_is_served(client: TestClient) -> None:
    pending, seen = ["js/main.js"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(f"/static/dashboard/{path}")
        assert response.status_code == 200, path
        base = path.rsplit("/", 1)[0]
        pending += [f"{base}/{target.removeprefix('./')}" for target in IMPORT.findall(response.text)]
    modules = {name for name in served_assets() if name.startswith("js/")}
    assert seen == modules  # no module is left unused


@pytest.mark.parametrize(
    "path",
    ["index.html", "vendor/VENDORED.md", "vendor/LICENSE.preact", "..%2F..%2Fapp.py", "js/../../app.py", "nope.js"],
)
def test_only_scripts_and_styles_are_served(client: TestClient, path: str) -> None:
    assert client.get(f"/static/dashboard/{path}").status_code == 404


def test_all_scripts_and_styles_stay_under_the_budget() -> None:
    total = sum((ASSET_DIR / name).stat().st_size for name in served_assets())
    assert total < BUDGET_BYTES, total


def test_production_serves_the_dashboard_too(tmp_path: Path) -> None:
    client = TestClient(create_app(settings_for(tmp_path, production=True), migrate=False))
    assert client.get("/").status_code == 200
    assert client.get("/static/dashboard/js/main.js").status_code == 200


def test_the_files_are_package_data_and_the_vendored_ones_are_documented() -> None:
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["berth"]
    for path in ASSET_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(REPO / "berth").as_posix()
            assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    notes = (ASSET_DIR / "vendor" / "VENDORED.md").read_text()
    for path in (ASSET_DIR / "vendor").glob("[!V]*"):  # every file but VENDORED.md itself
        assert f"`{path.name}`" in notes, path.name


def test_the_credential_is_kept_in_session_storage_only() -> None:
    sources = {path.name: path.read_text() for path in (ASSET_DIR / "js").glob("*.js")}
    assert not any("localStorage" in text or "document.cookie" in text for text in sources.values())
    assert not any("console." in text for text in sources.values())  # nothing is logged
    assert "sessionStorage" in sources["session.js"]


def test_without_an_oauth_client_the_page_offers_token_sign_in_only(client: TestClient) -> None:
    assert client.get("/dashboard/config.json").json() == {"oauth": None}
