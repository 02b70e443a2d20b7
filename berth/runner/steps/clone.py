"""CLONE: the repository at the deployment's ref (or, replaying, at its recorded commit)."""

from __future__ import annotations

from pathlib import Path

from berth.models.enums import ErrorCode, StepKind
from berth.runner.docker_api import GitError
from berth.runner.git_cli import GitCli, redact_url
from berth.runner.git_credentials import git_auth_env, is_auth_refusal
from berth.runner.steps.context import RunContext, StepFailure

# Without a branch, whatever the remote's default branch is (origin/HEAD after a clone).
DEFAULT_REF = "HEAD"


def inside(root: Path, relative: str, what: str) -> Path:
    """`root/relative`, refused when it leaves `root` (by '..' or a symlink in the repository)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise StepFailure(f"{what} {relative!r} points outside the repository")
    return path


async def clone(ctx: RunContext) -> str:
    repository = str(ctx.frozen.get("repository") or "")
    if not repository:
        raise StepFailure("the deployment has no repository to clone")
    if repository.startswith("file:") and not ctx.settings.allow_file_repos:
        raise StepFailure("file:// repositories are disabled on this server (BERTH_ALLOW_FILE_REPOS)")
    recorded = ctx.frozen.get("commitSha")
    ref = str(recorded or ctx.frozen.get("ref") or DEFAULT_REF)
    if recorded:
        ctx.log.system(f"replaying commit {recorded} (ref {ctx.frozen.get('ref') or 'default branch'})")
    dest = ctx.workdir() / "checkout"
    credentials = ctx.git_credentials
    if credentials is not None:
        ctx.log.system(f"authenticating with the service's {credentials.kind} credentials"
                       + (f" (user {credentials.username})" if credentials.username else ""))
    preview = ctx.frozen.get("preview") or {}
    try:
        with git_auth_env(credentials) as auth_env:
            checkout = await GitCli(auth_env).clone_at_ref(
                repository, ref, dest,
                on_line=ctx.log.on_line(StepKind.CLONE),
                cancel=ctx.cancel,
                step_timeout=ctx.step_timeout(ctx.settings.step_deadlines.clone),
                # A pull request's head (a fork's commits are only there).
                fetch_ref=str(preview["fetchRef"]) if preview.get("fetchRef") else None,
            )
    except GitError as exc:
        message = f"cannot clone {redact_url(repository)} at {ref}: {exc.message}"
        if is_auth_refusal(exc.message):
            if "host key" in exc.message.lower():
                given = "the git host's key is not the one gitAuth.sshKnownHosts pins"
            elif credentials is not None:
                given = "the service's credentials were refused"
            else:
                given = "the service has no gitAuth"
            raise StepFailure(f"{message} ({given})", ErrorCode.GIT_AUTH) from None
        raise StepFailure(message) from None
    ctx.checkout = dest
    ctx.record(commitSha=checkout.commit_sha)
    return f"commit {checkout.commit_sha}" + ("" if recorded else f" ({checkout.ref_kind} {ref})")
