"""`berth login` checks the token and writes it owner-readable only; the commands then use it."""

from __future__ import annotations

import json
import stat

from tests.client.conftest import Served
from tests.client.support import Cli


def test_login_writes_a_0600_config_the_commands_use(queue_server: Served, queue_cli: Cli) -> None:
    url = queue_server.server.url
    home = queue_cli.config_dir / "home"
    config = home / "berth" / "config.json"
    # No BERTH_URL, no BERTH_TOKEN: only what login saves.
    cli = Cli(url=None, token=None, config_dir=home, extra_env={"BERTH_CONFIG": str(config)})

    refused = cli.run("login", "--url", url, input="berth_pat_" + "x" * 43 + "\n")
    assert refused.code == 3 and f"credential refused by {url}" in refused.assert_one_line_error()
    assert not config.exists()

    token = queue_server.token("operator", "laptop")
    done = cli.run("login", "--url", url + "/graphql", input=token + "\n")
    assert done.code == 0, done
    assert f"logged in to {url} as " in done.stdout and "OPERATOR" in done.stdout
    assert token not in done.stdout + done.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert json.loads(config.read_text()) == {"url": url, "token": token}

    assert cli.json("deployments") == []
    # The environment still wins over the file.
    assert cli.with_token("berth_pat_" + "y" * 43).run("deployments").code == 3
