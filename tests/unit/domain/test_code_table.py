"""The codes the service can emit, read from the source: each has its Vietnamese and English text
in the one catalogue, and the table in docs/api-guide.md lists it.

A code is a string literal where the code emits one: the argument of a domain error or of
``problem()``, a marshmallow ``ValidationError`` or ``error=``, a list of codes in a validator's
answer (``return ["required"]``, ``errors["note"] = ["too_long"]``, ``codes.append(...)``), a
domain error's ``code = ...``, and the tables of api/errors.py and api/schemas.py.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.errors import _STATUS_CODES
from api.schemas import _REASON_CODES, InputSchema
from ecert.domain.i18n import MESSAGES, has_message, message

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted(
    path
    for package in ("ecert", "api")
    for path in (ROOT / package).rglob("*.py")
    if not {"cli", "dev", "migrations"} & set(path.parts) and path.name not in {"i18n.py", "config.py"}
)
CODE = re.compile(r"[a-z][a-z0-9_]*")
EMITTING_CALLS = {"problem", "ValidationError", "_add", "DomainError", "PersistentFailure"}
CODE_LISTS = {"errors", "codes", "problems", "reasons"}
# Emitted through a variable or a comprehension, which the scan does not follow.
INDIRECT = {
    "request_not_found": "ecert/services/lookup.py",
    "certificate_not_found": "ecert/services/lookup.py",
    "replacement_not_found": "ecert/services/revocation.py",
    "replacement_is_same": "ecert/services/revocation.py",
    "replacement_revoked": "ecert/services/revocation.py",
    "replacement_other_holder": "ecert/services/revocation.py",
    "not_with_qr": "api/public/verifications.py",
    "automatic_issuance_off": "ecert/services/requests.py",
}


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """Names of ecert.errors' exception classes and of every subclass of one, wherever defined."""
    names = {"DomainError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    if any(isinstance(base, ast.Name) and base.id in names for base in node.bases):
                        names.add(node.name)
                        grew = True
    return names


def _strings(node: ast.AST) -> set[str]:
    """String constants inside ``node``, dictionary keys (field names) excepted."""
    if isinstance(node, ast.Dict):
        return set().union(*(_strings(value) for value in node.values))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return set().union(*(_strings(item) for item in node.elts))
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _lists(node: ast.AST) -> list[ast.AST]:
    """The lists a returned expression is made of (a dict's values, both sides of a conditional)."""
    if isinstance(node, ast.Dict):
        return [part for value in node.values for part in _lists(value)]
    if isinstance(node, ast.IfExp):
        return _lists(node.body) + _lists(node.orelse)
    return [node]


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _codes_in(tree: ast.Module, emitters: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in emitters:
                # problem(status, code) and _add(errors, field, code): the code is the last argument.
                arguments = node.args[-1:] if name in ("problem", "_add") else node.args[:1]
                found |= set().union(*(_strings(arg) for arg in arguments))
            if name == "append" and getattr(node.func.value, "id", "") in CODE_LISTS:  # type: ignore[attr-defined]
                found |= _strings(node.args[0])
            found |= set().union(*(_strings(k.value) for k in node.keywords if k.arg in ("code", "error")))
        elif isinstance(node, ast.Return) and isinstance(node.value, (ast.List, ast.Dict, ast.IfExp)):
            # A validator's answer: ["code"], {field: ["code"]}, ["code"] if ... else [].
            if all(isinstance(part, ast.List) for part in _lists(node.value)):
                found |= _strings(node.value)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and getattr(target.value, "id", "") in CODE_LISTS:
                found |= _strings(node.value)
        elif isinstance(node, ast.ClassDef) and node.name in emitters:
            # class NotFound(DomainError, status=404, code="not_found"), or code = "..." in its body.
            found |= set().union(*(_strings(k.value) for k in node.keywords if k.arg == "code"))
            for statement in node.body:
                if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", "") == "code":
                    found |= _strings(statement.value)
    return {code for code in found if CODE.fullmatch(code)}


def emitted_codes() -> set[str]:
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES]
    emitters = EMITTING_CALLS | _error_classes(trees)
    codes = set().union(*(_codes_in(tree, emitters) for tree in trees))
    codes |= set(_STATUS_CODES.values()) | set(_REASON_CODES.values()) | set(InputSchema.error_messages.values())
    return codes | {"invalid_date", "invalid_value", "http_error"} | set(INDIRECT)


EMITTED = sorted(emitted_codes())


def test_the_scan_finds_the_codes_of_every_layer():
    assert {"phone_format", "month_format", "out_of_range", "required", "unknown_field", "invalid_type",
            "null_not_allowed", "totp_format", "invalid_code", "step_up_failed", "account_locked",
            "token_malformed", "open_request_exists", "verification_busy", "invalid_json",
            "rate_limited"} <= set(EMITTED)


@pytest.mark.parametrize("code", EMITTED)
def test_every_emitted_code_has_vietnamese_and_english(code):
    assert has_message(code), f"{code} is emitted but not in ecert/domain/i18n.py"
    assert message(code, "vi") and message(code, "en")


def test_no_synonyms_are_left():
    for gone in ("invalid_phone", "invalid_month", "too_small", "too_large", "not_a_number",
                 "idempotency_conflict", "loa_too_low"):
        assert gone not in MESSAGES and gone not in EMITTED


def _documented_codes() -> set[str]:
    guide = (ROOT / "docs" / "api-guide.md").read_text(encoding="utf-8")
    table = guide.split("## 6. Error codes", 1)[1]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.MULTILINE))


def test_the_guide_lists_every_emitted_code():
    documented = _documented_codes()
    assert not set(EMITTED) - documented, "add these to docs/api-guide.md §6"
    assert not documented - set(EMITTED) - {code for code in MESSAGES if not code.count(".")}
