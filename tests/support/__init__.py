"""Helpers shared by the test packages (no fixtures: those live in conftest.py files).

- `names`: unique names for what a test creates;
- `polling`: waiting for a condition with a deadline (sync and async);
- `live_server`: a real `berth serve` process and the one way to run one for a test;
- `orm`: running an async action against a database from sync code;
- `graphql`: the GraphQL client (HTTP, and graphql-transport-ws through gql);
- `websocket`: a raw WebSocket client for protocol-level tests (close codes, legacy protocol);
- `collector`: what a stream received, with waiting for a condition on it.
"""
