"""The MCP server: Berth's deployment tools and resources for AI agents (docs/mcp.md).

Every tool is a GraphQL operation run through one seam, an `Executor` (document,
variables → the GraphQL response). `berth mcp` (stdio) executes over HTTP with the
CLI's credential; `/mcp` on `berth serve` executes in-process against the same schema
with the request's principal. Scopes, project limits, error codes, idempotency and
the audit trail are therefore the API's own: nothing here decides a rule.

This package imports neither strawberry nor the GraphQL layer (tests/test_layers.py).
"""
