"""Caddy's config for a server's routes, and the routes read back from it (no Docker)."""

from __future__ import annotations

from berth.runner.proxy.caddy import ProxyRoute, config_for, routes_in


def test_routes_round_trip_through_the_config() -> None:
    routes = [ProxyRoute(1, "web.example.test", None, "berth-web-3-1:8080"),
              ProxyRoute(2, "web.example.test", "/api", "berth-api-9-1:9000")]
    config = config_for(routes)
    server = config["apps"]["http"]["servers"]["berth"]
    assert server["listen"] == [":80"] and server["automatic_https"] == {"disable": True}
    assert config["admin"] == {"listen": "localhost:2019"}
    # The longer prefix first: Caddy stops at the first matching route.
    assert [r["@id"] for r in server["routes"]] == ["berth-service-2", "berth-service-1"]
    assert server["routes"][0]["match"] == [{"host": ["web.example.test"], "path": ["/api*"]}]
    assert sorted(routes_in(config), key=lambda r: r.service_id) == routes


def test_routes_of_others_and_empty_configs_are_ignored() -> None:
    assert routes_in(None) == [] and routes_in({}) == []
    foreign = {"apps": {"http": {"servers": {"x": {"routes": [
        {"match": [{"host": ["a.test"]}], "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "a:1"}]}]},
        {"@id": "berth-service-7", "match": [{"host": ["b.test"]}], "handle": [{"handler": "static_response"}]},
    ]}}}}}
    assert routes_in(foreign) == []


def test_a_preview_has_a_route_of_its_own_beside_its_service() -> None:
    production = ProxyRoute(4, "web.example.test", None, "berth-web-3-1:8080")
    preview = ProxyRoute(4, "pr-7.web.example.test", None, "berth-web-pr7-5-1:8080", preview_id=12)
    config = config_for([production, preview])
    ids = sorted(r["@id"] for r in config["apps"]["http"]["servers"]["berth"]["routes"])
    assert ids == ["berth-service-4", "berth-service-4-preview-12"]
    back = {r.lane: r for r in routes_in(config)}
    assert back == {(4, None): production, (4, 12): preview}
