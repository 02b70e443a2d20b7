"""The grammars of the strings a service declares for Docker and git: ports, volumes, image
references and repository URLs, each parsed into a typed value.

One parser per grammar, used by input validation (which turns a `GrammarError` into
INVALID_INPUT at the field) and by the runner (which turns the parsed value into docker-py
arguments): a string the API accepts is, by construction, a string the runner can use.
The grammars follow what the Docker Engine API and git accept, narrowed where a form is
ambiguous (IPv6 addresses only in brackets) or cannot work through the API (relative host
paths). See docs/inputs.md.

This module imports nothing from berth, so every layer may use it.
Messages never repeat the input: a refused string may hold a secret (a token in a URL).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class GrammarError(ValueError):
    """A string that does not follow its grammar; `str()` says which rule, fit for a user."""


# ---------------------------------------------------------------- ports

PROTOCOLS = ("tcp", "udp", "sctp")
PORT_USAGE = ("must be [ip:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp] with ports 1–65535 "
              "(IPv6 addresses in brackets: [::1]:8080:80)")


@dataclass(frozen=True)
class PortRange:
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclass(frozen=True)
class PortPublish:
    """One container port and where it is published: `host_port` None picks any free port;
    a range there lets Docker pick a free one from it."""

    container_port: int
    protocol: str
    host_ip: str | None
    host_port: str | None


@dataclass(frozen=True)
class PortMapping:
    container: PortRange
    protocol: str = "tcp"
    host_ip: str | None = None
    # None: Docker picks a free host port ("80", "127.0.0.1::80", "0:80").
    host: PortRange | None = None

    @property
    def fixed_host_port(self) -> bool:
        """A named host port can be taken by only one container at a time."""
        return self.host is not None

    def publishes(self) -> list[PortPublish]:
        """One entry per container port, as Docker expands a range: pairwise with a host
        range of the same size, or one container port into a host range to choose from."""
        found = []
        for offset in range(self.container.size):
            host: str | None = None
            if self.host is not None:
                if self.container.size == 1:
                    host = str(self.host)
                else:
                    host = str(self.host.start + offset)
            found.append(PortPublish(self.container.start + offset, self.protocol, self.host_ip, host))
        return found


def _port_range(text: str, allow_zero: bool = False) -> PortRange:
    start_text, dash, end_text = text.partition("-")
    numbers = []
    for part in (start_text, end_text) if dash else (start_text,):
        if not (part.isascii() and part.isdigit()) or len(part) > 5:
            raise GrammarError(PORT_USAGE)
        numbers.append(int(part))
    start, end = numbers[0], numbers[-1]
    if allow_zero and not dash and start == 0:
        return PortRange(0, 0)
    if not 1 <= start <= end <= 65535:
        raise GrammarError(PORT_USAGE)
    return PortRange(start, end)


def parse_port(spec: str) -> PortMapping:
    """Docker's `-p` grammar, as the Engine API takes it (github.com/docker/go-connections nat)."""
    body, slash, protocol = (spec or "").partition("/")
    if slash and protocol not in PROTOCOLS:
        raise GrammarError(PORT_USAGE)
    host_ip: str | None = None
    if body.startswith("["):
        address, bracket, rest = body[1:].partition("]:")
        if not bracket:
            raise GrammarError(PORT_USAGE)
        host_ip, parts = address, rest.split(":")
        if len(parts) != 2:
            raise GrammarError(PORT_USAGE)
        host_text, container_text = parts
    else:
        parts = body.split(":")
        if len(parts) == 3:
            host_ip, host_text, container_text = parts
        elif len(parts) == 2:
            host_text, container_text = parts
            if not host_text:
                raise GrammarError(PORT_USAGE)
        elif len(parts) == 1:
            host_text, container_text = "", parts[0]
        else:
            # Docker would read "::1:8080:80" as an IPv6 address; brackets say it unambiguously.
            raise GrammarError(PORT_USAGE)
    if host_ip is not None:
        if "%" in host_ip:
            raise GrammarError(PORT_USAGE)
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            raise GrammarError(PORT_USAGE) from None
    container = _port_range(container_text)
    host = _port_range(host_text, allow_zero=True) if host_text else None
    if host is not None and host.start == 0:
        host = None  # Docker reads host port 0 as "any free port"
    if host is not None and host.size != container.size and container.size != 1:
        raise GrammarError("a container port range needs a host port range of the same size")
    return PortMapping(container=container, protocol=protocol or "tcp", host_ip=host_ip, host=host)


# ---------------------------------------------------------------- volumes

class VolumeKind(StrEnum):
    NAMED = "named"
    BIND = "bind"
    ANONYMOUS = "anonymous"


VOLUME_USAGE = "must be volume-name:/container/path[:options] or /host/path:/container/path[:options]"
# Docker's rule for local volume names (at least two characters).
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
# The option groups of Docker's Linux mount parser; a spec takes at most one of each.
_OPTION_GROUPS: dict[str, frozenset[str]] = {
    "access": frozenset({"ro", "rw"}),
    "selinux": frozenset({"z", "Z"}),
    "propagation": frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"}),
    "copy": frozenset({"nocopy"}),
    "consistency": frozenset({"consistent", "cached", "delegated"}),
}


@dataclass(frozen=True)
class VolumeMount:
    kind: VolumeKind
    source: str | None  # the volume name or host path; None for an anonymous volume
    target: str
    options: tuple[str, ...] = ()

    @property
    def read_only(self) -> bool:
        return "ro" in self.options

    @property
    def host_bind(self) -> bool:
        return self.kind is VolumeKind.BIND

    def bind(self) -> str:
        """The mount as an entry of the Engine API's HostConfig.Binds (named or bind)."""
        if self.source is None:
            raise ValueError("an anonymous volume has no bind entry")
        options = f":{','.join(self.options)}" if self.options else ""
        return f"{self.source}:{self.target}{options}"


def _option_group(option: str) -> str:
    for group, members in _OPTION_GROUPS.items():
        if option in members:
            return group
    raise GrammarError("volume options are ro|rw, z|Z, a propagation (private, rprivate, shared, rshared, "
                       "slave, rslave), nocopy and consistent|cached|delegated, comma-separated")


def parse_volume(spec: str) -> VolumeMount:
    """Docker's `-v` grammar as the Engine API takes it: `[source:]target[:options]`."""
    if not spec or "\x00" in spec:
        raise GrammarError(VOLUME_USAGE)
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise GrammarError(VOLUME_USAGE)
    if len(parts) == 1:
        source, target, options = None, parts[0], ""
    else:
        source, target = parts[0], parts[1]
        options = parts[2] if len(parts) == 3 else ""
    if not target.startswith("/") or target == "/" or any(p == ".." for p in target.split("/")):
        raise GrammarError("container path must be absolute (not '/') and without '..'")
    chosen = tuple(options.split(",")) if len(parts) == 3 else ()
    groups = [_option_group(option) for option in chosen]
    if len(set(groups)) != len(groups):
        raise GrammarError("volume options take at most one of each kind (e.g. not both ro and rw)")
    if source is None:
        return VolumeMount(VolumeKind.ANONYMOUS, None, target)
    if source.startswith("/"):
        if "nocopy" in chosen:
            raise GrammarError("nocopy applies to named volumes only")
        if any(p == ".." for p in source.split("/")):
            raise GrammarError("host path must be absolute without '..'")
        return VolumeMount(VolumeKind.BIND, source, target, chosen)
    if source.startswith((".", "~")):
        # The Docker CLI resolves these against its own directory; the API has none.
        raise GrammarError("host path must be absolute (/path); relative and ~ paths are not resolved")
    if not VOLUME_NAME.match(source):
        raise GrammarError("volume names are 2 or more letters, digits, '_', '.' or '-', starting with a "
                           "letter or digit")
    if "propagation" in groups:
        raise GrammarError("propagation options apply to host bind mounts only")
    return VolumeMount(VolumeKind.NAMED, source, target, chosen)


# ---------------------------------------------------------------- image references

# The distribution reference grammar (github.com/distribution/reference), sha256 digests only.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
_IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
TAG = re.compile(rf"^{_TAG}$")
# The reference grammar's own bound on a name (domain and path), and so on a whole reference:
# name, ':' and a 128-character tag, '@' and a sha256 digest.
MAX_IMAGE_NAME = 255
MAX_TAG = 128
MAX_IMAGE_REFERENCE = MAX_IMAGE_NAME + 1 + MAX_TAG + 1 + len("sha256:") + 64
IMAGE_USAGE = "is not an image reference: [registry[:port]/]name[:tag][@sha256:<64 hex>], lowercase name components"
TAG_USAGE = "is not an image tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"


@dataclass(frozen=True)
class ImageReference:
    domain: str | None  # registry host[:port]; None for Docker Hub
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path


def parse_image_reference(reference: str) -> ImageReference:
    # The first component is a registry only when it looks like one (as the grammar's
    # regex does not decide): with a '.' or ':', or "localhost", or uppercase letters.
    if len(reference or "") > MAX_IMAGE_REFERENCE:
        # Checked first: no regex runs over an arbitrarily long string.
        raise GrammarError(f"must be at most {MAX_IMAGE_REFERENCE} characters")
    match = _IMAGE_REFERENCE.match(reference or "")
    if match is None:
        raise GrammarError(IMAGE_USAGE)
    domain, path = match.group("domain"), match.group("path")
    if domain is not None and not ("." in domain or ":" in domain or domain == "localhost"
                                   or domain != domain.lower()):
        path, domain = f"{domain}/{path}", None
    name = f"{domain}/{path}" if domain else path
    if len(name) > MAX_IMAGE_NAME:
        raise GrammarError(f"must have a name (registry and path) of at most {MAX_IMAGE_NAME} characters")
    return ImageReference(domain, path, match.group("tag"), match.group("digest"))


def tag_problem(tag: str) -> str | None:
    return None if TAG.match(tag or "") else TAG_USAGE


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest); a ':' after the last '/' starts the tag, so a registry port
    is never mistaken for one. Also used on references Docker reports (not only valid ones)."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest or None
    return name, None, digest or None


def with_tag(reference: str, tag: str) -> str:
    """The reference with its tag (and any digest) replaced by `tag`: an override names a tag,
    and keeping an old digest would pin the old image."""
    repository, _, _ = split_image(reference)
    return f"{repository}:{tag}"


# ---------------------------------------------------------------- repository URLs

_SCP_LIKE = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^\s:][^\s]*)$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_USERNAME = re.compile(r"^[A-Za-z0-9._-]+$")
CREDENTIALS_REFUSED = (
    "must not carry credentials (a password or token in the URL would be stored and shown in "
    "declaredConfig); give the repository's credentials in source.gitAuth, which stores them "
    "encrypted"
)


@dataclass(frozen=True)
class RepositoryUrl:
    scheme: str  # https, ssh, file; "scp" for user@host:path
    user: str | None
    host: str | None
    port: int | None
    path: str


def hostname_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host)) and len(host) <= 253


def http_url_problem(url: str, max_length: int, *, allow_query: bool, credentials_hint: str = "") -> str | None:
    """An absolute http(s) URL Berth sends requests to (a provider's API, a notification
    endpoint): a valid host, no user:password@ (a credential would be stored and shown
    with the URL), no fragment, and a query only where `allow_query` (tokens travel in
    query strings too). None when fine, else what is wrong, in words."""
    if len(url) > max_length:
        return f"must be at most {max_length} characters"
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "must be an absolute http:// or https:// URL"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError:
        return "must be an absolute http:// or https:// URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "must be an absolute http:// or https:// URL"
    if "@" in parts.netloc:
        return "must not carry credentials (user:password@)" + credentials_hint
    if not allow_query and (parts.query or parts.fragment):
        return "must not have a query (?…) or fragment (#…): tokens travel in query strings too"
    if parts.fragment:
        return "must not have a fragment (#…)"
    if not parts.hostname or not hostname_ok(parts.hostname) or port == 0:
        return "needs a valid host"
    return None


def parse_repository_url(url: str, allow_file: bool) -> RepositoryUrl:
    """https:// (no user info at all: a user there is a token), ssh:// and scp-like
    user@host:path (a user name, never a password), file:/// when the server allows it."""
    allowed = "https://, ssh:// or user@host:path" + (", file://" if allow_file else "")
    if not url or url.startswith("-") or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise GrammarError(f"is not a git URL ({allowed})")
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match is None:
            # "user:secret@host:path" lands here as well, and must not read as a scheme.
            userinfo = url.rpartition("@")[0]
            raise GrammarError(CREDENTIALS_REFUSED if ":" in userinfo else f"is not a git URL ({allowed})")
        user = match.group("user")
        if not _USERNAME.match(user):
            raise GrammarError(f"is not a git URL ({allowed})")
        if not hostname_ok(match.group("host")):
            raise GrammarError(f"is not a git URL ({allowed})")
        return RepositoryUrl("scp", user, match.group("host"), None, match.group("path"))
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError:
        raise GrammarError(f"is not a git URL ({allowed})") from None
    scheme = parts.scheme.lower()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        if scheme != "ssh" or ":" in userinfo:
            raise GrammarError(CREDENTIALS_REFUSED)
    if scheme == "file":
        if not allow_file:
            raise GrammarError("file:// repositories are disabled on this server (BERTH_ALLOW_FILE_REPOS)")
        if parts.netloc or not parts.path.startswith("/") or "/../" in parts.path + "/":
            raise GrammarError("file:// repository must be an absolute local path (file:///path)")
        return RepositoryUrl("file", None, None, None, parts.path)
    if scheme not in ("https", "ssh"):
        raise GrammarError(f"unsupported git URL scheme; use {allowed}")
    if parts.query or parts.fragment:
        # Tokens travel in query strings too; git needs neither.
        raise GrammarError("git URL must not have a query (?…) or fragment (#…)")
    if not parts.hostname or not hostname_ok(parts.hostname) or not parts.path.strip("/"):
        raise GrammarError("git URL needs a host and a repository path")
    if port == 0:
        raise GrammarError("git URL port must be 1–65535")
    if parts.username is not None and not _USERNAME.match(parts.username):
        raise GrammarError(f"is not a git URL ({allowed})")
    return RepositoryUrl(scheme, parts.username, parts.hostname, port, parts.path)
