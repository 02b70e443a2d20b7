"""The committed SDL is what the server prints, and it honours the public contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from berth.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_CHECK = ROOT.parent / "shared" / "contract" / "check_contract.py"


def test_committed_schema_is_current() -> None:
    printed = build_schema().as_str() + "\n"
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == printed, "run `berth export-schema > schema.graphql`"


def test_export_schema_command_prints_the_sdl() -> None:
    result = subprocess.run([sys.executable, "-m", "berth", "export-schema"], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout == (ROOT / "schema.graphql").read_text()


@pytest.mark.skipif(not CONTRACT_CHECK.exists(), reason="the shared contract is not beside this checkout")
def test_printed_schema_honours_the_contract() -> None:
    result = subprocess.run([sys.executable, str(CONTRACT_CHECK), str(ROOT / "schema.graphql")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 difference(s)" in result.stdout


FRAGMENTS = ROOT.parent / "shared" / "contract" / "v2"
# The contract's additions the schema implements in full (the others are work in progress).
IMPLEMENTED_FRAGMENTS = ("git", "streams", "traffic", "sources", "operations", "agents")


@pytest.mark.parametrize("fragment", IMPLEMENTED_FRAGMENTS)
def test_printed_schema_honours_the_implemented_fragments(fragment: str) -> None:
    path = FRAGMENTS / f"{fragment}.graphql"
    if not path.exists():
        pytest.skip("the shared contract is not beside this checkout")
    result = subprocess.run([sys.executable, str(CONTRACT_CHECK), str(ROOT / "schema.graphql"), "--with", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 difference(s)" in result.stdout

