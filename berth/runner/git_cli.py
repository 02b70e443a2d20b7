"""Clone a repository at a ref (branch, tag or commit SHA) and report the exact commit.

Uses the git binary through `process.run_process`, so a clone is cancellable and
bounded by a deadline like every other step. git never prompts (no terminal, no
askpass), so a repository that needs credentials fails instead of hanging.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from berth.runner.docker_api import SYSTEM, CancelEvent, GitError, OnLine, StepTimeout, discard_line
from berth.runner.process import minimal_env, run_process

# Transports git may use; excludes ext:: and fd::, which run arbitrary commands.
ALLOWED_PROTOCOLS = "https:http:ssh:git:file"

_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "SSH_ASKPASS": "true",
    "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
    # BatchMode: ssh must not wait for a passphrase or a host key confirmation.
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    "GIT_LFS_SKIP_SMUDGE": "1",
}

_REASON_PREFIXES = ("fatal:", "error:", "Host key verification failed", "Permission denied",
                    "No ED25519 host key", "No RSA host key", "No ECDSA host key")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class Checkout:
    commit_sha: str
    ref_kind: str
    """branch, tag or commit: what `ref` turned out to name."""


def redact_url(url: str) -> str:
    """The URL without a password/token, for log lines."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None and not (parts.username and parts.scheme in ("http", "https")):
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


class GitCli:
    def __init__(self, env: Mapping[str, str] | None = None, git: str = "git") -> None:
        """env: extra variables for git, e.g. GIT_SSH_COMMAND with a deploy key."""
        self._env = minimal_env(_GIT_ENV, env)
        self._git = git

    async def clone_at_ref(
        self,
        url: str,
        ref: str,
        dest: Path,
        *,
        on_line: OnLine = discard_line,
        cancel: CancelEvent | None = None,
        step_timeout: float | None = None,
        fetch_ref: str | None = None,
    ) -> Checkout:
        """Clone `url` into `dest` (absent or empty) and check out `ref` detached.

        `fetch_ref`: a ref outside the branches and tags a clone fetches (a pull request's
        `refs/pull/N/head`, where a fork's commits live), fetched too when present."""
        if not url or url.startswith("-"):
            raise GitError(f"invalid repository URL {redact_url(url)!r}", returncode=-1)
        if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
            raise GitError(f"invalid git ref {ref!r}", returncode=-1)
        deadline = _Deadline(step_timeout)
        on_line(SYSTEM, f"git clone {redact_url(url)} at {ref}")
        try:
            await self._git_run(["clone", "--no-checkout", "--", url, str(dest)], what="git clone",
                                on_line=on_line, cancel=cancel, step_timeout=deadline.left())
            if fetch_ref and fetch_ref.startswith("refs/") and not any(c.isspace() for c in fetch_ref):
                try:
                    await self._git_run(["-C", str(dest), "fetch", "--quiet", "origin", "--", fetch_ref],
                                        what="git fetch", on_line=on_line, cancel=cancel,
                                        step_timeout=deadline.left())
                except GitError:
                    # Not there (a provider that does not keep it): the commit may still be
                    # on a branch, and resolving it says so if it is not.
                    on_line(SYSTEM, f"{fetch_ref} is not in the repository")
            sha, kind = await self._resolve(ref, dest, cancel, deadline)
            await self._git_run(["-C", str(dest), "checkout", "--quiet", "--detach", sha],
                                what="git checkout", on_line=on_line, cancel=cancel,
                                step_timeout=deadline.left())
            head = await self._rev_parse(dest, "HEAD", cancel, deadline)
        except StepTimeout:
            # Report the clone's whole deadline, not what was left for the last command.
            raise StepTimeout(f"git clone timed out after {step_timeout:g} s", step_timeout or 0.0) from None
        if head is None:
            raise GitError("git checkout left no HEAD", returncode=-1)
        on_line(SYSTEM, f"checked out {kind} {ref} at commit {head}")
        return Checkout(commit_sha=head, ref_kind=kind)

    async def _resolve(self, ref: str, dest: Path, cancel: CancelEvent | None,
                       deadline: _Deadline) -> tuple[str, str]:
        # Explicit namespaces first so a branch and a tag of the same name cannot be
        # confused, then whatever git makes of it (a full or abbreviated SHA).
        candidates = [(f"refs/remotes/origin/{ref}", "branch"), (f"refs/tags/{ref}", "tag"), (ref, "commit")]
        for name, kind in candidates:
            sha = await self._rev_parse(dest, f"{name}^{{commit}}", cancel, deadline)
            if sha is not None:
                return sha, kind
        raise GitError(f"git ref {ref!r} is not a branch, tag or commit of the repository", returncode=1)

    async def _rev_parse(self, dest: Path, rev: str, cancel: CancelEvent | None,
                         deadline: _Deadline) -> str | None:
        result = await run_process(
            [self._git, "-C", str(dest), "rev-parse", "--verify", "--quiet", "--end-of-options", rev],
            env=self._env, cancel=cancel, step_timeout=deadline.left(), check=False, capture_stdout=True,
            what="git rev-parse", error_cls=GitError,
        )
        if result.returncode != 0 or not result.stdout_lines:
            return None
        sha = result.stdout_lines[0].strip()
        return sha if _FULL_SHA.match(sha) else None

    async def _git_run(self, args: list[str], *, what: str, on_line: OnLine,
                       cancel: CancelEvent | None, step_timeout: float | None) -> None:
        try:
            await run_process([self._git, *args], env=self._env, on_line=on_line, cancel=cancel,
                              step_timeout=step_timeout, what=what, error_cls=GitError)
        except GitError as exc:
            # git says what went wrong on its "fatal:"/"error:" lines; the rest is chatter.
            # ssh says why it gave up on lines of its own (a host key that is not the pinned one).
            reasons = [line for line in exc.output_tail if line.startswith(_REASON_PREFIXES)]
            if not reasons:
                raise
            raise GitError(f"{what} failed (exit {exc.returncode}): {' '.join(reasons)}",
                           returncode=exc.returncode, output_tail=exc.output_tail) from None


class _Deadline:
    """One deadline shared by the several git commands of a clone."""

    def __init__(self, seconds: float | None) -> None:
        self._end = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        if self._end is None:
            return None
        return max(0.01, self._end - time.monotonic())
