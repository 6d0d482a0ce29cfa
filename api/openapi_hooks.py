"""The OpenAPI document as client generators need it (DESIGN §9), finished once every blueprint
is registered: one ``operationId`` per operation, nullable nested objects written as
``allOf: [$ref]`` + ``nullable`` (openapi-python-client types that; apispec's ``anyOf`` with an
untyped object parses a refusal as a bare dict), response objects open to new fields, the
downloads' binary media types and their 304, and the headers the edge sends.

``tests/client/test_generated_client.py`` generates a client from the document and drives the
citizen journey with it; ``tests/client/test_openapi_document.py`` checks these rules one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

# Operations of the staff blueprint share view names with the citizen's (me, get_request, ...).
_PREFIXED_BLUEPRINTS = {"staff": "staff_"}
_BINARY_TYPES = ("application/pdf", "image/png", "image/svg+xml", "application/x-pem-file")

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (the problem documents' trace_id); send your own to correlate",
        "schema": {"type": "string"},
    },
    "Content-Language": {
        "description": "The language of the texts in the body (vi or en)",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}},
    "Location": {"description": "The created resource", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def finish(app: Flask, api: Api) -> None:
    spec = api.spec
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    paths = spec._paths  # noqa: SLF001 - apispec keeps paths only here
    _operation_ids(app, paths)
    for operation in _operations(paths):
        _declare_headers(operation)
    for response in spec.components.responses.values():
        _add_headers(response, "X-Request-ID", "Content-Language")
    schemas = spec.components.schemas
    for schema in schemas.values():
        _nullable_refs(schema)
    inputs = _input_schemas(paths, schemas)
    for name, schema in schemas.items():
        if name not in inputs and schema.get("additionalProperties") is False:
            del schema["additionalProperties"]


def _operations(paths: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for operations in paths.values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                yield operation


def _operation_ids(app: Flask, paths: dict[str, Any]) -> None:
    """The view function's name (``create_request``), prefixed for the staff blueprint."""
    for rule in app.url_map.iter_rules():
        operations = paths.get(FlaskPlugin.flaskpath2openapi(rule.rule))
        if not operations:
            continue
        blueprint, _, view = rule.endpoint.rpartition(".")
        for method in rule.methods or ():
            operation = operations.get(method.lower())
            if isinstance(operation, dict):
                operation.setdefault("operationId", _PREFIXED_BLUEPRINTS.get(blueprint, "") + view)


def _add_headers(response: dict[str, Any], *names: str) -> None:
    if "$ref" in response:
        return
    headers = response.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, _ref(name))


def _declare_headers(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    idempotent = any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    for status, response in list(responses.items()):
        if "$ref" in response:
            continue
        _add_headers(response, "X-Request-ID")
        content = response.get("content", {})
        if "application/problem+json" in content:
            _add_headers(response, "Content-Language")
        if status in ("429", "503"):
            _add_headers(response, "Retry-After")
        if status == "201":
            _add_headers(response, "Location")
        if idempotent and status.startswith("2"):
            _add_headers(response, "Idempotent-Replayed")
    _binary_download(responses)


def _binary_download(responses: dict[str, Any]) -> None:
    """A file answer (PDF, QR, root CA): its media type with a binary schema, its ETag, and the
    304 a client gets when it revalidates (``If-None-Match``)."""
    ok = responses.get("200")
    if not isinstance(ok, dict):
        return
    media = [m for m in ok.get("content", {}) if m in _BINARY_TYPES]
    if not media:
        return
    for name in media:
        ok["content"][name] = {"schema": {"type": "string", "format": "binary"}}
    ok.setdefault("headers", {})["ETag"] = {"$ref": "#/components/headers/ETAG"}
    responses.setdefault("304", {"$ref": "#/components/responses/NOT_MODIFIED"})


def _nullable_refs(node: Any) -> None:
    """apispec writes a nullable nested schema as ``anyOf: [{type: object, nullable}, {$ref}]``;
    generators read the first branch as an untyped dict. ``allOf: [$ref]`` + ``nullable`` is
    the OpenAPI 3.0 form they type (``Refusal | None``)."""
    if isinstance(node, list):
        for item in node:
            _nullable_refs(item)
        return
    if not isinstance(node, dict):
        return
    branches = node.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "object", "nullable": True} in branches:
        ref = next(b for b in branches if "$ref" in b) if any("$ref" in b for b in branches) else None
        if ref is not None:
            del node["anyOf"]
            node["allOf"] = [ref]
            node["nullable"] = True
    if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"].append(None)  # OpenAPI 3.0: a nullable enum lists null among its values
    for value in node.values():
        _nullable_refs(value)


def _input_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The component schemas a request body or parameter uses, directly or nested: these stay
    closed (``additionalProperties: false``); every other one is a response's, open to new fields."""
    found: set[str] = set()
    pending = [op.get("requestBody", {}) for op in _operations(paths)]
    pending += [op.get("parameters", []) for op in _operations(paths)]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    pending.append(schemas.get(name, {}))
            pending.extend(node.values())
    return found
