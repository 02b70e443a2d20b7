"""Scopes, the role → scope table (CONTRACT §2) and the no-escalation rule for granting."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from berth.models.enums import Role

if TYPE_CHECKING:  # principal.py imports this module; the type is only needed for hints
    from berth.auth.principal import Principal


class Scope(StrEnum):
    DEPLOY_READ = "deploy:read"
    DEPLOY_START = "deploy:start"
    DEPLOY_CANCEL = "deploy:cancel"
    DEPLOY_ROLLBACK = "deploy:rollback"
    # Approve or reject deployments waiting in a protected environment (contract v2, agents).
    DEPLOY_APPROVE = "deploy:approve"
    LOGS_READ = "logs:read"
    SERVICE_READ = "service:read"
    SERVICE_WRITE = "service:write"
    SERVER_READ = "server:read"
    SERVER_WRITE = "server:write"
    TOKENS_MANAGE = "tokens:manage"
    AUDIT_READ = "audit:read"


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)
SCOPE_NAMES: frozenset[str] = frozenset(s.value for s in Scope)

_S = Scope
# CONTRACT §2 table, column by column, plus deploy:approve (contract v2: owner, admin,
# operator; never agent: an agent must not clear its own way into a protected environment). Kept as literal data (not derived from a
# hierarchy) so a reviewer can hold it against the contract line by line.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.OWNER: frozenset(Scope),
    Role.ADMIN: frozenset(Scope),
    Role.OPERATOR: frozenset(
        {
            _S.DEPLOY_READ,
            _S.DEPLOY_START,
            _S.DEPLOY_CANCEL,
            _S.DEPLOY_ROLLBACK,
            _S.DEPLOY_APPROVE,
            _S.LOGS_READ,
            _S.SERVICE_READ,
            _S.SERVICE_WRITE,
            _S.SERVER_READ,
        }
    ),
    Role.DEVELOPER: frozenset(
        {
            _S.DEPLOY_READ,
            _S.DEPLOY_START,
            _S.DEPLOY_CANCEL,
            _S.LOGS_READ,
            _S.SERVICE_READ,
            _S.SERVER_READ,
        }
    ),
    Role.VIEWER: frozenset({_S.DEPLOY_READ, _S.SERVICE_READ, _S.SERVER_READ}),
    Role.AGENT: frozenset(
        {
            _S.DEPLOY_READ,
            _S.DEPLOY_START,
            _S.DEPLOY_CANCEL,
            _S.DEPLOY_ROLLBACK,
            _S.LOGS_READ,
            _S.SERVICE_READ,
            _S.SERVER_READ,
        }
    ),
}

# owner > admin > operator > developer > agent, viewer. Agent and viewer share
# the lowest rank: the contract lists them side by side, and neither is "above"
# the other, so a creator of either rank may create the other (scopes still
# have to be a subset of the creator's, which is what actually bounds power).
ROLE_RANK: dict[Role, int] = {
    Role.OWNER: 5,
    Role.ADMIN: 4,
    Role.OPERATOR: 3,
    Role.DEVELOPER: 2,
    Role.AGENT: 1,
    Role.VIEWER: 1,
}


def role_rank(role: Role | None) -> int:
    """Rank of a role; a credential without a role ranks below every role."""
    return ROLE_RANK[role] if role is not None else 0


def parse_role(value: str) -> Role | None:
    """`owner` / `OWNER` → Role.OWNER; anything else → None (callers decide how to fail)."""
    try:
        return Role(value.strip().upper())
    except ValueError:
        return None


def effective_scopes(role: Role | None, credential_scopes: Iterable[str]) -> frozenset[str]:
    """The role's scopes ∩ the credential's scopes; no role means no scopes (fail closed)."""
    if role is None:
        return frozenset()
    allowed = ROLE_SCOPES[role]
    return frozenset(s for s in credential_scopes if s in allowed)


def _show(names: Iterable[str]) -> str:
    # Caller-supplied names are echoed back to help fix the input; cut them
    # short so an error message cannot be used to reflect arbitrary text.
    return ", ".join(sorted(n if len(n) <= 40 else n[:40] + "…" for n in names))


class GrantProblem(NamedTuple):
    field: str
    message: str
    code: str = "INVALID_INPUT"


def token_management_problems(
    manager: Principal, role: Role, project_ids: Iterable[int]
) -> list[GrantProblem]:
    """Why `manager` may not manage a token of `role` limited to `project_ids` (empty: all
    projects); none when it may. The one rule for every token operation: listing, `node(id:)`,
    revoking and creating. A principal manages only tokens of roles at or below its own (an
    admin neither sees nor revokes an owner's token), and a project-limited one only tokens
    limited to some of its projects (the tokens it could have made itself)."""
    problems: list[GrantProblem] = []
    if role_rank(role) > role_rank(manager.role):
        manager_role = manager.role.value if manager.role else "role-less"
        problems.append(
            GrantProblem("role", f"a {manager_role} credential cannot manage a {role.value} token")
        )
    projects = set(project_ids)
    if manager.is_project_limited and not projects:
        # An empty list means "all projects": more than the manager may see.
        message = "a project-limited credential must limit the token to its projects"
        problems.append(GrantProblem("projectIds", message))
    elif manager.is_project_limited and not projects <= manager.project_ids:
        # NOT_FOUND, like any other object outside a limited credential's projects (§2).
        problems.append(
            GrantProblem("projectIds", "project not found among your credential's projects", "NOT_FOUND")
        )
    return problems


def may_manage_token(manager: Principal, role: Role, project_ids: Iterable[int]) -> bool:
    return not token_management_problems(manager, role, project_ids)


def grant_problems(
    creator: Principal | None,
    role: Role,
    scopes: Iterable[str],
    project_ids: Iterable[int] = (),
) -> list[GrantProblem]:
    """Everything wrong with `creator` granting a token of `role` with `scopes` and projects.

    `creator` None is the CLI bootstrap (someone with the server's database and
    key), which may create any role; the scopes must still belong to the role.
    Checking that the creator holds `tokens:manage` is the API layer's job
    (`@requiresScopes` on the mutation); this is the no-escalation rule: the
    management rule (role and projects) plus no scope the creator lacks.
    """
    requested = set(scopes)
    managing = token_management_problems(creator, role, project_ids) if creator is not None else []
    problems = [problem for problem in managing if problem.field == "role"]
    unknown = {s for s in requested if s not in SCOPE_NAMES}
    if unknown:
        problems.append(GrantProblem("scopes", f"unknown scope(s): {_show(unknown)}"))
    outside_role = requested - unknown - set(ROLE_SCOPES[role])
    if outside_role:
        problems.append(GrantProblem("scopes", f"role {role.value} does not include: {_show(outside_role)}"))
    if creator is not None:
        lacking = requested - unknown - creator.scopes
        if lacking:
            problems.append(GrantProblem("scopes", f"your credential lacks: {_show(lacking)}"))
    problems += [problem for problem in managing if problem.field != "role"]
    return problems


def can_grant(
    creator: Principal,
    role: Role,
    scopes: Iterable[str],
    project_ids: Iterable[int] = (),
) -> list[str]:
    """Problems (empty = allowed) with `creator` granting `role` and `scopes`."""
    return [p.message for p in grant_problems(creator, role, scopes, project_ids)]
