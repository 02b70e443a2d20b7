"""The role → scope table, role ranks, the grant rule and Principal helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from berth.auth import ROLE_SCOPES, Principal, Scope, can_grant, make_principal
from berth.auth.scopes import ROLE_RANK, grant_problems
from berth.models.enums import DeploymentTrigger, Role, TokenKind

# CONTRACT §2, transcribed by hand: the code's table must equal this one.
EXPECTED: dict[Role, set[str]] = {
    Role.OWNER: {
        "deploy:read", "deploy:start", "deploy:cancel", "deploy:rollback", "deploy:approve", "logs:read",
        "service:read", "service:write", "server:read", "server:write", "tokens:manage", "audit:read",
    },
    Role.ADMIN: {
        "deploy:read", "deploy:start", "deploy:cancel", "deploy:rollback", "deploy:approve", "logs:read",
        "service:read", "service:write", "server:read", "server:write", "tokens:manage", "audit:read",
    },
    Role.OPERATOR: {
        "deploy:read", "deploy:start", "deploy:cancel", "deploy:rollback", "deploy:approve", "logs:read",
        "service:read", "service:write", "server:read",
    },
    Role.DEVELOPER: {
        "deploy:read", "deploy:start", "deploy:cancel", "logs:read", "service:read", "server:read",
    },
    Role.VIEWER: {"deploy:read", "service:read", "server:read"},
    Role.AGENT: {
        "deploy:read", "deploy:start", "deploy:cancel", "deploy:rollback", "logs:read",
        "service:read", "server:read",
    },
}  # fmt: skip

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "contract" / "CONTRACT.md"
# Contract v2 fragments add scopes in their headers: "# New scope audit:read: owner and admin."
# (operations), "# New scope deploy:approve: owner, admin, operator." (agents).
V2_FRAGMENTS = [CONTRACT.parent / "v2" / name for name in ("operations.graphql", "agents.graphql")]


def test_twelve_scopes() -> None:
    assert len(Scope) == 12
    assert {s.value for s in Scope} == EXPECTED[Role.OWNER]


def test_table_matches_the_contract() -> None:
    assert {role: {s.value for s in scopes} for role, scopes in ROLE_SCOPES.items()} == EXPECTED


def test_viewer_has_exactly_three_read_scopes() -> None:
    assert ROLE_SCOPES[Role.VIEWER] == {"deploy:read", "service:read", "server:read"}


def test_table_matches_the_contract_file() -> None:
    """Read the table out of CONTRACT.md itself, when the shared folder is beside the project."""
    if not CONTRACT.exists():
        pytest.skip("../shared/contract/CONTRACT.md not present")
    columns: list[Role] = []
    parsed: dict[Role, set[str]] = {}
    for line in CONTRACT.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "scope" and not columns:
            columns = [Role(c.upper()) for c in cells[1:]]
            parsed = {role: set() for role in columns}
        elif columns and cells and re.fullmatch(r"[a-z]+:[a-z]+", cells[0]):
            for role, mark in zip(columns, cells[1:], strict=True):
                if mark == "✓":
                    parsed[role].add(cells[0])
    added: set[str] = set()
    for fragment in V2_FRAGMENTS:
        for line in fragment.read_text().splitlines():
            if match := re.fullmatch(r"# New scope ([a-z]+:[a-z]+): (.+)\.", line.strip()):
                added.add(match.group(1))
                for role in re.split(r",\s*|\s+and\s+", match.group(2)):
                    parsed[Role(role.strip().upper())].add(match.group(1))
    assert added == {"audit:read", "deploy:approve"}
    assert parsed == EXPECTED


def test_approve_is_never_an_agents() -> None:
    approvers = {role for role, scopes in ROLE_SCOPES.items() if Scope.DEPLOY_APPROVE in scopes}
    assert approvers == {Role.OWNER, Role.ADMIN, Role.OPERATOR}


def test_rank_order() -> None:
    r = ROLE_RANK
    assert r[Role.OWNER] > r[Role.ADMIN] > r[Role.OPERATOR] > r[Role.DEVELOPER] > r[Role.AGENT]
    assert r[Role.AGENT] == r[Role.VIEWER]


def p(
    role: Role | None,
    scopes: set[str] | None = None,
    projects: set[int] | None = None,
    kind: TokenKind = TokenKind.JWT,
    token_id: int | None = None,
) -> Principal:
    return make_principal(
        subject="sub-1",
        email="a@example.test",
        role=role,
        token_kind=kind,
        credential_scopes=scopes if scopes is not None else (ROLE_SCOPES[role] if role else set()),
        project_ids=projects or set(),
        token_id=token_id,
        token_name="t" if kind is TokenKind.API_TOKEN else None,
        issuer="https://issuer.test" if kind is TokenKind.JWT else None,
    )


# ---------------------------------------------------------------- can_grant


@pytest.mark.parametrize("role", list(Role))
def test_owner_may_grant_every_role(role: Role) -> None:
    assert can_grant(p(Role.OWNER), role, ROLE_SCOPES[role]) == []


def test_admin_may_not_create_owner() -> None:
    assert can_grant(p(Role.ADMIN), Role.OWNER, ["deploy:read"])


def test_developer_may_create_agent_and_viewer_but_not_operator() -> None:
    dev = p(Role.DEVELOPER)
    assert can_grant(dev, Role.AGENT, ["deploy:read", "deploy:start"]) == []
    assert can_grant(dev, Role.VIEWER, ["deploy:read"]) == []
    assert can_grant(dev, Role.OPERATOR, ["deploy:read"])


def test_agent_and_viewer_share_a_rank() -> None:
    assert can_grant(p(Role.AGENT), Role.VIEWER, ["deploy:read"]) == []
    assert can_grant(p(Role.VIEWER), Role.AGENT, ["deploy:read"]) == []


def test_scope_the_creator_lacks() -> None:
    problems = can_grant(p(Role.DEVELOPER), Role.AGENT, ["deploy:rollback"])
    assert problems and "deploy:rollback" in problems[0]


def test_scope_outside_the_role() -> None:
    assert can_grant(p(Role.OWNER), Role.VIEWER, ["server:write"])


def test_unknown_scope() -> None:
    assert any("unknown" in m for m in can_grant(p(Role.OWNER), Role.OWNER, ["nope:nope"]))


def test_scope_limited_credential_grants_only_what_it_holds() -> None:
    narrow = p(Role.ADMIN, scopes={"deploy:read", "tokens:manage"})
    assert can_grant(narrow, Role.VIEWER, ["deploy:read"]) == []
    assert can_grant(narrow, Role.VIEWER, ["service:read"])


def test_projects_of_a_limited_creator() -> None:
    limited = p(Role.ADMIN, projects={1, 2})
    assert can_grant(limited, Role.AGENT, ["deploy:read"], [1]) == []
    assert can_grant(limited, Role.AGENT, ["deploy:read"], [1, 3])
    # An empty list means all projects: more than the creator has.
    assert can_grant(limited, Role.AGENT, ["deploy:read"], [])
    problem = grant_problems(limited, Role.AGENT, ["deploy:read"], [3])[0]
    assert (problem.field, problem.code) == ("projectIds", "NOT_FOUND")


def test_bootstrap_may_create_any_role_but_not_foreign_scopes() -> None:
    assert grant_problems(None, Role.OWNER, ROLE_SCOPES[Role.OWNER]) == []
    assert grant_problems(None, Role.VIEWER, ["server:write"])


# ---------------------------------------------------------------- Principal


def test_effective_scopes_are_role_intersect_credential() -> None:
    principal = p(Role.VIEWER, scopes={"deploy:read", "server:write", "bogus"})
    assert principal.scopes == {"deploy:read"}
    assert p(None, scopes={"deploy:read"}).scopes == frozenset()


def test_has_and_missing() -> None:
    principal = p(Role.DEVELOPER)
    assert principal.has(["deploy:read", "logs:read"])
    assert principal.has("deploy:read")
    assert not principal.has(["deploy:read", "server:write"])
    assert principal.missing(["tokens:manage", "deploy:read", "server:write"]) == [
        "server:write",
        "tokens:manage",
    ]
    assert principal.missing("deploy:rollback") == ["deploy:rollback"]
    assert principal.missing([]) == []


def test_projects() -> None:
    everywhere = p(Role.VIEWER)
    assert not everywhere.is_project_limited and everywhere.may_see_project(99)
    limited = p(Role.VIEWER, projects={1, 2})
    assert limited.is_project_limited
    assert limited.may_see_project(2) and not limited.may_see_project(3)


def test_trigger_and_idempotency_subject() -> None:
    user = p(Role.DEVELOPER)
    assert user.trigger is DeploymentTrigger.USER
    assert user.idempotency_subject == "jwt:https://issuer.test sub-1"
    agent = p(Role.AGENT, kind=TokenKind.API_TOKEN, token_id=7)
    assert agent.trigger is DeploymentTrigger.AGENT
    assert agent.idempotency_subject == "token:7"
    script = p(Role.OPERATOR, kind=TokenKind.API_TOKEN, token_id=8)
    assert script.trigger is DeploymentTrigger.API


def test_long_idempotency_subject_is_digested() -> None:
    principal = make_principal(
        subject="s" * 300,
        email=None,
        role=None,
        token_kind=TokenKind.JWT,
        credential_scopes=[],
        issuer="https://i",
    )
    assert len(principal.idempotency_subject) <= 255
    assert principal.idempotency_subject.startswith("jwt:sha256:")


def test_actor() -> None:
    assert p(Role.AGENT, kind=TokenKind.API_TOKEN, token_id=3).actor() == {
        "subject": "sub-1",
        "email": "a@example.test",
        "role": "AGENT",
        "tokenKind": "API_TOKEN",
        "tokenName": "t",
    }


def test_principal_is_immutable() -> None:
    principal = p(Role.VIEWER)
    with pytest.raises(AttributeError):
        principal.role = Role.OWNER  # type: ignore[misc]
