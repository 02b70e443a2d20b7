"""Compose's variable interpolation, as far as Berth can know its result.

Compose replaces `$VAR`, `${VAR}` and `${VAR<op>word}` (`:-` `-` `:?` `?` `:+` `+`,
nested in `word` for v2) in every value — never in keys — before it reads the values'
types, and `$$` is a literal `$`. Its variables come from the process environment
(the runner's own basics and the endpoint's variables, plus the service's variables whose
names are not reserved: berth.domain.compose_env), then a `.env` file of the project
directory.

Berth knows only the service's plain (non-secret) variables for sure. Any other variable
may be set by something Berth does not see — a secret, the runner's environment, a
`.env` file in the repository — so a value that depends on one is `Unknown`: the policy
then refuses it wherever the value matters, whatever the default says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.domain.compose_env import interpolation_variables

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Unknown:
    """A value compose computes from variables Berth cannot know here (or bad syntax)."""

    variables: tuple[str, ...]

    def describe(self) -> str:
        if not self.variables:
            return "an interpolation compose may read differently"
        return "the variable" + ("s " if len(self.variables) > 1 else " ") + ", ".join(self.variables)


class _Unresolved(Exception):
    def __init__(self, variables: set[str]) -> None:
        self.variables = variables


def known_env(values: Mapping[str, str]) -> dict[str, str]:
    """The variables whose value compose will certainly see, out of the service's plain ones:
    the runner passes no reserved name, so the policy counts on none."""
    return interpolation_variables(values)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` that closes the `${` before `start`, honouring nested `${…}`."""
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("$$", index):
            index += 2
            continue
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise _Unresolved(set())


def _braced(body: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(body)
    if match is None:
        raise _Unresolved(set())
    name, rest = match.group(0), body[match.end():]
    if not rest:
        if name not in env:
            raise _Unresolved({name})
        return env[name]
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            word = rest[len(operator):]
            break
    else:
        raise _Unresolved(set())
    if name not in env:
        # Set or not, empty or not: only the environment compose runs with can tell.
        raise _Unresolved({name} | _variables_in(word))
    value = env[name]
    present = bool(value) if operator.startswith(":") else True
    if operator.endswith("-"):
        return value if present else _substitute(word, env)
    if operator.endswith("+"):
        return _substitute(word, env) if present else ""
    if not present:
        raise _Unresolved(set())  # compose stops with the `?` message
    return value


def _variables_in(text: str) -> set[str]:
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))


def _substitute(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        if text.startswith("$$", index):
            out.append("$")
            index += 2
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 2)
            out.append(_braced(text[index + 2:end], env))
            index = end + 1
        elif match := _NAME.match(text, index + 1):
            name = match.group(0)
            if name not in env:
                raise _Unresolved({name})
            out.append(env[name])
            index = match.end()
        else:
            raise _Unresolved(set())  # a lone `$`: compose calls it an invalid format
    return "".join(out)


def interpolate(text: str, env: Mapping[str, str]) -> str | Unknown:
    if "$" not in text:
        return text
    try:
        return _substitute(text, env)
    except _Unresolved as unresolved:
        return Unknown(tuple(sorted(unresolved.variables)))


def interpolate_document(value: Any, env: Mapping[str, str]) -> Any:
    """Every string value interpolated (keys as they are); `Unknown` where Berth cannot tell."""
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, dict):
        return {key: interpolate_document(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate_document(item, env) for item in value]
    return value
