"""A service-free Haystack engine that can browse Oscar's catalogue.

Haystack's SimpleEngine flattens every filter into one text string (Oscar's base query becomes
``true ['standalone', 'parent']``) and only applies the last word, so /catalogue/ and /search/
always say "No products found" (django-oscar/django-oscar#4366). This engine turns the filter
tree into a Django query on each index's ``index_queryset()`` instead, which is plenty for a
demo shop. Facets, spelling and highlighting are not supported.
"""

from __future__ import annotations

from functools import reduce
from operator import and_, or_
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from haystack import connections
from haystack.backends import SearchNode
from haystack.backends.simple_backend import (
    SimpleEngine,
    SimpleSearchBackend,
    SimpleSearchQuery,
)
from haystack.models import SearchResult
from haystack.utils import get_model_ct_tuple

# Model fields searched for free text (those that exist on the model are used).
TEXT_FIELDS = ("title", "description", "upc", "name")
# Index field -> model lookup, where the names differ.
FIELD_MAP = {"category": "categories", "title_exact": "title"}


# Haystack filter types whose Django lookup has another name.
LOOKUP_MAP = {"content": "exact", "contains": "icontains", "fuzzy": "icontains"}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"true", "1"}


def _text_q(model: type[Model], text: str) -> Q:
    """Every word must appear in some text field; a leading "-" excludes the word."""
    fields = [f.name for f in model._meta.fields if f.name in TEXT_FIELDS]
    parts: list[Q] = []
    for raw in text.split():
        word = raw.strip('"')
        negate = word.startswith("-") and len(word) > 1
        word = word.removeprefix("-") if negate else word
        if not fields or not word or word == "*":
            continue
        q = reduce(or_, (Q(**{f"{f}__icontains": word}) for f in fields))
        parts.append(~q if negate else q)
    return reduce(and_, parts) if parts else Q()


def _node_q(model: type[Model], node: SearchNode) -> Q:
    parts: list[Q] = []
    for child in node.children:
        if isinstance(child, SearchNode):
            parts.append(_node_q(model, child))
            continue
        expression, value = child
        field, filter_type = node.split_expression(expression)
        if field in ("content", "text"):
            parts.append(_text_q(model, str(getattr(value, "query_string", value))))
            continue
        lookup = FIELD_MAP.get(field, field)
        try:
            model_field = model._meta.get_field(lookup)
        except FieldDoesNotExist:  # index-only fields (price, rating ...) can't be filtered
            continue
        django_lookup = LOOKUP_MAP.get(filter_type, filter_type)
        if django_lookup == "exact" and model_field.get_internal_type() == "BooleanField":
            value = _truthy(value)  # Oscar filters with the string "true"
        parts.append(Q(**{f"{lookup}__{django_lookup}": value}))
    if not parts:
        return Q()
    q = reduce(or_ if node.connector == SearchNode.OR else and_, parts)
    return ~q if node.negated else q


def _ordering(model: type[Model], sort_by: list[str]) -> list[str]:
    """Map index sort keys to model fields; keys with no model field (price) are skipped."""
    fields = {f.name for f in model._meta.fields}
    order = []
    for key in sort_by:
        desc, name = key.startswith("-"), key.lstrip("-")
        name = FIELD_MAP.get(name, name)
        if name in fields:
            order.append(f"-{name}" if desc else name)
    return order


class DatabaseSearchBackend(SimpleSearchBackend):
    def search(
        self,
        query_string: str,
        query_filter: SearchNode | None = None,
        sort_by: list[str] | None = None,
        start_offset: int = 0,
        end_offset: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        index = connections[self.connection_alias].get_unified_index()
        models = kwargs.get("models") or index.get_indexed_models()
        result_class = kwargs.get("result_class") or SearchResult
        matches: list[Model] = []
        for model in models:
            qs: QuerySet = index.get_index(model).index_queryset(using=self.connection_alias)
            if query_filter is not None:
                qs = qs.filter(_node_q(model, query_filter)).distinct()
            if order := _ordering(model, sort_by or []):
                qs = qs.order_by(*order)
            matches.extend(qs)
        results = []
        for match in matches[start_offset:end_offset]:
            app_label, model_name = get_model_ct_tuple(match)
            result = result_class(app_label, model_name, match.pk, 0)
            result._model = type(match)
            result._object = match
            results.append(result)
        return {"results": results, "hits": len(matches)}


class DatabaseSearchQuery(SimpleSearchQuery):
    def build_params(self, spelling_query: str | None = None) -> dict[str, Any]:
        params = super().build_params(spelling_query)
        params["query_filter"] = self.query_filter  # the tree, not the flattened string
        return params


class DatabaseEngine(SimpleEngine):
    backend = DatabaseSearchBackend
    query = DatabaseSearchQuery
