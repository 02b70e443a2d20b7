"""Thin resolvers of the root fields: parse GraphQL input, call the domain, map its errors.

Called by the schema's root types (`berth.schema.query`, `.mutation`, `.subscription`).
A resolver may import strawberry and the schema's building blocks (`berth.schema.types`,
`.ids`, `.errors`, `.deployment_pages` …) to return schema types, but never a root module
(`berth.schema`, `.query`, `.mutation`, `.subscription`, `.build`): the building blocks
never import resolvers, so imports point one way (see `berth.schema` and tests/test_layers.py).
Rules (visibility, paging, lifecycle) live in `berth.domain`, not here.
"""
