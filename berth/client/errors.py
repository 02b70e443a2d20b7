"""What can go wrong in a client command, each as one line, and the exit codes.

Exit codes are the CLI's contract with scripts and agents:

| code | meaning |
| --- | --- |
| 0 | done (a followed deployment SUCCEEDED; `berth cancel`: it ended CANCELED) |
| 1 | the followed deployment FAILED |
| 2 | the deployment `deploy` or `rollback` followed was CANCELED |
| 3 | usage, credential, scope or input error: nothing was done |
| 4 | the followed deployment was SKIPPED (superseded by a newer one) |
| 5 | the server is unreachable or answered with a server error |
| 70 | a bug in the client (one line; BERTH_DEBUG=1 shows the traceback) |
| 130 | interrupted (Ctrl-C) and left running |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELED = 2
EXIT_USAGE = 3
EXIT_SKIPPED = 4
EXIT_UNAVAILABLE = 5
EXIT_BUG = 70  # EX_SOFTWARE
EXIT_INTERRUPTED = 130


class ClientError(Exception):
    """A one-line, user-facing reason a command stopped."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageProblem(ClientError):
    """Flags that do not fit together, or a value the CLI can refuse itself."""


class AuthProblem(ClientError):
    """No credential, a refused credential, or a missing scope."""


class InputProblem(ClientError):
    """The server refused the request's input (a `UserError`) or did not find what was named."""


class ServerUnreachable(ClientError):
    exit_code = EXIT_UNAVAILABLE


class ServerProblem(ClientError):
    """The server answered, but not with a usable result (internal error, wrong endpoint)."""

    exit_code = EXIT_UNAVAILABLE
