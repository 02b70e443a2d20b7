"""The README and docs/ stand alone: their links resolve inside the repository, and the
facts they copy from the code (the role table) are the code's."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from berth.auth.scopes import ROLE_SCOPES, Scope
from berth.models.enums import Role

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# [text](target "title") and ![alt](target); [label]: target (reference definitions).
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def link_problem(document: Path, target: str) -> str | None:
    parts = urlsplit(target)
    if parts.scheme or target.startswith("//"):
        return None  # a web address (http:, https:, mailto:) is not a path in the repository
    if target.startswith("/"):
        return "an absolute path leaves the repository"
    path = (document.parent / unquote(parts.path)).resolve() if parts.path else document
    if not path.is_relative_to(REPO):
        return "points outside the repository"
    if not path.exists():
        return "no such file in the repository"
    if parts.fragment and path.suffix == ".md" and parts.fragment not in anchors(path.read_text()):
        return f"no heading #{parts.fragment} in {path.relative_to(REPO)}"
    return None


def test_the_documents_exist() -> None:
    names = {d.relative_to(REPO).as_posix() for d in DOCUMENTS}
    assert {"README.md", "docs/api.md", "docs/auth.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    text = document.read_text()
    assert "../shared" not in text, "the repository must not depend on files beside it"
    problems = [f"{target}: {problem}" for target in links(text) if (problem := link_problem(document, target))]
    assert not problems, problems


def test_the_link_check_sees_what_it_must_refuse(tmp_path: Path) -> None:
    """The checker itself: an escaping, a missing and a broken-anchor link are each found."""
    document = REPO / "docs" / "example.md"
    text = "[a](../../outside.md) [b](missing.md) [c](api.md#no-such-heading) [d](api.md#errors) `[e](x.md)`"
    found = {target: link_problem(document, target) for target in links(text)}
    assert found["../../outside.md"] == "points outside the repository"
    assert found["missing.md"] == "no such file in the repository"
    assert found["api.md#no-such-heading"] is not None
    assert found["api.md#errors"] is None
    assert "x.md" not in found


def role_table(text: str) -> dict[Role, set[str]]:
    """The Markdown table under '### Roles': scope rows, one ✓ column per role."""
    section = text.split("### Roles", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[0] == "scope"
    roles = [Role(name.upper()) for name in header[1:]]
    table: dict[Role, set[str]] = {role: set() for role in roles}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        scope = cells[0].strip("`")
        for role, mark in zip(roles, cells[1:], strict=True):
            assert mark in {"✓", ""}, row
            if mark:
                table[role].add(scope)
    return table


def test_the_role_table_in_docs_is_the_one_in_the_code() -> None:
    text = (REPO / "docs" / "auth.md").read_text()
    table = role_table(text)
    assert set(table) == set(Role)
    assert {str(s) for s in Scope} == {s.strip("`") for s in re.findall(r"^\| (`[a-z]+:[a-z]+`) \|", text.split("### Roles", 1)[1], re.MULTILINE)}
    for role, scopes in ROLE_SCOPES.items():
        assert table[role] == {str(s) for s in scopes}, role
