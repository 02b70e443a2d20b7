"""Thin resolvers: parse GraphQL input, call the domain, map its errors."""
