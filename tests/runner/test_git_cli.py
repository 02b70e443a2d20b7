"""git_cli.GitCli against real git and a bare repository made in tmp."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from berth.runner.docker_api import SYSTEM, Canceled, GitError, StepTimeout
from berth.runner.git_cli import GitCli, redact_url
from tests.services import skip_or_fail
from tests.support.polling import poll


@dataclass
class Repo:
    url: str
    main_sha: str
    feature_sha: str
    tag_sha: str


def git(*args: str, cwd: Path) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "file").write_text("v1\n")
    git("add", "file", cwd=work)
    git("commit", "-q", "-m", "one", cwd=work)
    git("tag", "v1", cwd=work)
    tag_sha = git("rev-parse", "HEAD", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    (work / "file").write_text("feature\n")
    git("commit", "-qam", "feature", cwd=work)
    feature_sha = git("rev-parse", "HEAD", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    (work / "file").write_text("v2\n")
    git("commit", "-qam", "two", cwd=work)
    main_sha = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "repo.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return Repo(url=f"file://{bare}", main_sha=main_sha, feature_sha=feature_sha, tag_sha=tag_sha)


@pytest.mark.parametrize(("ref", "expected", "kind", "content"), [
    ("main", "main_sha", "branch", "v2\n"),
    ("feature", "feature_sha", "branch", "feature\n"),
    ("v1", "tag_sha", "tag", "v1\n"),
])
async def test_clone_at_branch_and_tag(repo: Repo, tmp_path: Path, ref: str, expected: str, kind: str,
                                       content: str) -> None:
    lines: list[tuple[str, str]] = []
    dest = tmp_path / "checkout"
    checkout = await GitCli().clone_at_ref(repo.url, ref, dest, on_line=lambda s, t: lines.append((s, t)),
                                           step_timeout=60)
    assert checkout.commit_sha == getattr(repo, expected)
    assert checkout.ref_kind == kind
    assert (dest / "file").read_text() == content
    assert (SYSTEM, f"checked out {kind} {ref} at commit {checkout.commit_sha}") in lines


async def test_clone_at_full_and_abbreviated_sha(repo: Repo, tmp_path: Path) -> None:
    full = await GitCli().clone_at_ref(repo.url, repo.tag_sha, tmp_path / "a")
    assert (full.commit_sha, full.ref_kind) == (repo.tag_sha, "commit")
    short = await GitCli().clone_at_ref(repo.url, repo.feature_sha[:10], tmp_path / "b")
    assert short.commit_sha == repo.feature_sha
    assert (tmp_path / "b" / "file").read_text() == "feature\n"


async def test_unknown_ref_is_a_clear_error(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="'nope' is not a branch, tag or commit"):
        await GitCli().clone_at_ref(repo.url, "nope", tmp_path / "c")


async def test_unreachable_repository_fails_clearly(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    with pytest.raises(GitError) as err:
        await GitCli().clone_at_ref("file:///nonexistent", "main", tmp_path / "d", step_timeout=60)
    message = str(err.value)
    assert message.startswith("git clone failed (exit 128): fatal: '/nonexistent' does not appear to be "
                              "a git repository")
    assert "Traceback" not in message


async def test_refs_that_look_like_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="invalid git ref"):
        await GitCli().clone_at_ref("file:///x", "--upload-pack=evil", tmp_path / "e")
    with pytest.raises(GitError, match="invalid repository URL"):
        await GitCli().clone_at_ref("--upload-pack=evil", "main", tmp_path / "e")


@pytest.fixture
def hanging_ssh(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A GIT_SSH_COMMAND that records its pid and hangs, as a dead server would."""
    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    pid_file = tmp_path / "ssh.pid"
    script = tmp_path / "hang-ssh"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    script.chmod(0o700)
    return {"GIT_SSH_COMMAND": str(script)}, pid_file


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_cancel_stops_a_hanging_clone(hanging_ssh: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, pid_file = hanging_ssh
    cancel = asyncio.Event()
    task = asyncio.ensure_future(GitCli(env=env).clone_at_ref("ssh://git@example.invalid/r.git", "main",
                                                              tmp_path / "f", cancel=cancel))
    await poll(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "git to start ssh")
    started = time.monotonic()
    cancel.set()
    with pytest.raises(Canceled, match="git clone was canceled"):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 5
    await poll(lambda: gone(int(pid_file.read_text())), 3, "the ssh grandchild to exit")


async def test_timeout_stops_a_hanging_clone(hanging_ssh: tuple[dict[str, str], Path],
                                             tmp_path: Path) -> None:
    env, pid_file = hanging_ssh
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="git clone timed out after 1 s"):
        await GitCli(env=env).clone_at_ref("ssh://git@example.invalid/r.git", "main", tmp_path / "g",
                                           step_timeout=1)
    assert time.monotonic() - started < 5
    await poll(lambda: gone(int(pid_file.read_text())), 3, "the ssh grandchild to exit")


def test_redact_url() -> None:
    assert redact_url("https://user:tok@github.com/a/b.git") == "https://***@github.com/a/b.git"
    assert redact_url("https://ghp_token@github.com/a/b.git") == "https://***@github.com/a/b.git"
    assert redact_url("ssh://git@github.com/a/b.git") == "ssh://git@github.com/a/b.git"
    assert redact_url("file:///srv/repo.git") == "file:///srv/repo.git"
