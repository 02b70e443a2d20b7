"""Each server's Caddy proxy: zero-downtime switches for services with a route.

`container` keeps the `berth-proxy` container running, `caddy` builds and reads Caddy's
JSON config, `control` moves one route at a time and records what the proxy reports.
"""
