"""Parse and validate each distinct document once per process (CONTRACT §6 limits included).

Clients send the same few documents over and over; parsing and validating one costs more
than a millisecond, every time. The limits that used to be one extension each (depth,
aliases, tokens, and introspection in production) are built once here: their validation
rules are fixed per schema, so a document that parsed within the token limit and passed
every rule once passes them again, and the next request with the same text reuses the
parsed document (graphql-core never mutates it).

Only successes are cached. A document that fails to parse or validate is left to
Strawberry's own steps, which report the errors exactly as they would without this cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from threading import Lock
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# Distinct documents kept; bounded so that unique query texts cannot grow memory.
MAX_DOCUMENTS = 256


class DocumentCache:
    """Query text → parsed document that passed validation, least recently used dropped."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...], max_tokens: int,
                 maxsize: int = MAX_DOCUMENTS) -> None:
        self.rules = rules
        self.max_tokens = max_tokens
        self.maxsize = maxsize
        self._parsed: OrderedDict[str, DocumentNode] = OrderedDict()
        # id(document) → (document, the rules it passed).
        self._valid: dict[int, tuple[DocumentNode, tuple[type[ASTValidationRule], ...]]] = {}
        self._lock = Lock()

    def parsed(self, query: str) -> DocumentNode | None:
        """The document of `query`, or None when it does not parse (Strawberry reports why)."""
        with self._lock:
            document = self._parsed.get(query)
            if document is not None:
                self._parsed.move_to_end(query)
                return document
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        with self._lock:
            self._parsed[query] = document
            if len(self._parsed) > self.maxsize:
                _, dropped = self._parsed.popitem(last=False)
                self._valid.pop(id(dropped), None)
        return document

    def is_valid(self, schema: Any, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]) -> bool:
        """Whether `document` passes `rules` (remembered only for documents of this cache)."""
        key = id(document)
        with self._lock:
            known = self._valid.get(key)
        if known is not None and known[0] is document and known[1] == rules:
            return True
        if validate_document(schema, document, rules):
            return False
        with self._lock:
            if any(cached is document for cached in self._parsed.values()):
                self._valid[key] = (document, rules)
        return True


class CachedDocuments(SchemaExtension):
    """Adds the limits' rules and token count, and serves documents from a `DocumentCache`."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.cache.max_tokens
        context.validation_rules = context.validation_rules + self.cache.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            # None: Strawberry parses it itself and reports the error as usual.
            context.graphql_document = self.cache.parsed(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if (
            document is not None
            and context.pre_execution_errors is None
            and self.cache.is_valid(context.schema._schema, document, context.validation_rules)
        ):
            context.pre_execution_errors = []
        # Otherwise Strawberry validates again and reports the errors as usual.
        yield
