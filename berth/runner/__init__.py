"""The runner: claiming queued deployments and driving Docker on target servers."""
