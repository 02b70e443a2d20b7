"""How CLONE authenticates to a private repository (`source.gitAuth`).

Two kinds: `https` — a token (or password) sent as HTTP basic auth with `username`
(default `x-access-token`, what GitHub, Gitea and GitLab accept for tokens); `ssh` — a deploy
key, with the known_hosts line(s) that pin the git host's key. Secrets are stored encrypted
in `Service.git_auth` and never shown: views carry `{kind, username}` only. The runner reads
them when the deployment runs (a replay uses today's credential, as for registries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from berth.domain.errors import ErrorList, FieldPath
from berth.domain.grammars import GrammarError, parse_repository_url
from berth.domain.limits import MAX_KEY_MATERIAL, MAX_REGISTRY_USERNAME
from berth.domain.secrets import decrypt, encrypt
from berth.domain.specs import GitAuthSpec
from berth.domain.validation import known_hosts_problem

DEFAULT_USERNAME = "x-access-token"
HTTPS = "https"
SSH = "ssh"
_PRIVATE_KEY_HEADS = ("-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----",
                      "-----BEGIN EC PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----")


def _scheme(repository: str | None) -> str | None:
    try:
        return parse_repository_url(repository or "", allow_file=True).scheme if repository else None
    except GrammarError:
        return None  # the repository's own problem is reported on its field


def private_key_problem(text: str) -> str | None:
    lines = text.strip().splitlines()
    head = lines[0].strip() if lines else ""
    if head not in _PRIVATE_KEY_HEADS or len(lines) < 3 or lines[-1].strip() != head.replace("BEGIN", "END"):
        return "sshPrivateKey must be an OpenSSH or PEM private key (-----BEGIN OPENSSH PRIVATE KEY----- …)"
    if "ENCRYPTED" in lines[1]:
        return "sshPrivateKey must not be passphrase-protected (the runner cannot type a passphrase)"
    return None


def validate_git_auth(spec: GitAuthSpec, repository: str | None, path: FieldPath) -> ErrorList:
    errors = ErrorList()
    if not repository:
        errors.add(path, "gitAuth applies to sources with a repository")
        return errors
    scheme = _scheme(repository)
    if spec.token is not None and spec.ssh_private_key is not None:
        errors.add(path, "gitAuth takes a token (https) or an sshPrivateKey (ssh), not both")
        return errors
    if spec.token is None and spec.ssh_private_key is None:
        errors.add(path, "gitAuth needs a token (https) or an sshPrivateKey and sshKnownHosts (ssh)")
        return errors
    if spec.token is not None:
        if scheme is not None and scheme != "https":
            errors.add([*path, "token"], "a token authenticates https:// repositories only")
        if not spec.token or len(spec.token) > MAX_KEY_MATERIAL or any(c in spec.token for c in "\x00\r\n"):
            errors.add([*path, "token"], f"token must be 1 to {MAX_KEY_MATERIAL} characters on one line")
        if spec.username is not None and (not spec.username or len(spec.username) > MAX_REGISTRY_USERNAME
                                          or ":" in spec.username
                                          or any(not c.isprintable() or c.isspace() for c in spec.username)):
            errors.add([*path, "username"], f"username must be 1 to {MAX_REGISTRY_USERNAME} printable "
                                            "characters without ':' or spaces")
        if spec.ssh_known_hosts is not None:
            errors.add([*path, "sshKnownHosts"], "sshKnownHosts applies to ssh authentication only")
        return errors
    key = spec.ssh_private_key or ""
    if scheme is not None and scheme not in ("ssh", "scp"):
        errors.add([*path, "sshPrivateKey"], "a deploy key authenticates ssh:// or user@host:path repositories only")
    if len(key) > MAX_KEY_MATERIAL:
        errors.add([*path, "sshPrivateKey"], f"sshPrivateKey must be at most {MAX_KEY_MATERIAL} characters")
    elif problem := private_key_problem(key):
        errors.add([*path, "sshPrivateKey"], problem)
    if spec.username is not None:
        errors.add([*path, "username"], "username applies to https; an ssh user is part of the repository URL")
    if spec.ssh_known_hosts is None:
        errors.add([*path, "sshKnownHosts"], "ssh authentication needs sshKnownHosts (the pinned host key)")
    elif len(spec.ssh_known_hosts) > MAX_KEY_MATERIAL:
        errors.add([*path, "sshKnownHosts"], f"sshKnownHosts must be at most {MAX_KEY_MATERIAL} characters")
    elif problem := known_hosts_problem(spec.ssh_known_hosts):
        errors.add([*path, "sshKnownHosts"], f"sshKnownHosts {problem}")
    return errors


def stored_git_auth(spec: GitAuthSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    if spec.token is not None:
        return {"kind": HTTPS, "username": spec.username or DEFAULT_USERNAME, "tokenEnc": encrypt(spec.token)}
    return {"kind": SSH, "username": None, "sshPrivateKeyEnc": encrypt(spec.ssh_private_key or ""),
            "sshKnownHosts": spec.ssh_known_hosts}


def git_auth_view(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What views show: the kind and the username, never a secret."""
    if not stored:
        return None
    return {"kind": str(stored["kind"]), "username": stored.get("username")}


@dataclass(frozen=True)
class GitCredentials:
    """Decrypted, for the runner's CLONE only; secrets stay out of the repr."""

    kind: str
    username: str | None
    token: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    ssh_known_hosts: str | None = None

    def secrets(self) -> list[str]:
        return [value for value in (self.token, self.ssh_private_key) if value]


def git_credentials(stored: Mapping[str, Any] | None) -> GitCredentials | None:
    if not stored:
        return None
    if stored["kind"] == HTTPS:
        return GitCredentials(HTTPS, stored.get("username") or DEFAULT_USERNAME, token=decrypt(stored["tokenEnc"]))
    return GitCredentials(SSH, None, ssh_private_key=decrypt(stored["sshPrivateKeyEnc"]),
                          ssh_known_hosts=stored.get("sshKnownHosts"))
