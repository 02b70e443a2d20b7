"""How much of each input Berth stores (CONTRACT §6; documented in docs/inputs.md).

One place for every bound on a stored string or list, so the validation that enforces a
limit and the documentation that states it cannot drift apart. Bounds a grammar implies by
itself (a DNS-label name, an image reference, a port) live with that grammar in
`berth.domain.grammars`. The request body (≤ 256 KiB) bounds every request as a whole.
"""

from __future__ import annotations

KIB = 1024

# Entries of any list input (environments, ports, volumes, command, composeFiles, composeProfiles).
MAX_LIST = 100
MAX_ENVIRONMENTS = MAX_LIST  # per project, given to createProject or created by createService
MAX_ENV_VARS = 500
MAX_ENV_KEY = 256  # characters
MAX_ENV_VALUE = 64 * KIB  # characters
MAX_COMPOSE_CONTENT = 256 * KIB  # bytes of UTF-8
MAX_REPOSITORY_URL = 2048  # characters
MAX_VOLUME_SPEC = 4096  # characters, PATH_MAX
MAX_PATH = 1024  # dockerfile, buildContext, each composeFiles entry (characters)
MAX_PROFILE_NAME = 128  # characters
MAX_COMMAND_ARG = 16 * KIB  # characters per argument
MAX_HEALTH_PATH = 2048  # characters
MAX_GIT_REF = 255  # characters (branch, ref)
MAX_DOCKER_HOST = 512  # characters: the `server.docker_host` column
MAX_KEY_MATERIAL = 64 * KIB  # characters of each PEM, SSH key or known_hosts field
MAX_REASON = 2000  # characters of a deployment, cancel or rollback reason
MAX_REGISTRY = 255  # characters of a registry host[:port]
MAX_REGISTRY_USERNAME = 255  # characters
MAX_REGISTRY_PASSWORD = 16 * KIB  # characters (registry tokens, e.g. cloud access tokens, are long)
