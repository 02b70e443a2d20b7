"""Domain actions: plain async functions that know nothing of GraphQL."""
