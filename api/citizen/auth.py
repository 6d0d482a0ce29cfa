"""Citizen authentication: the identity app's ID token in ``Authorization: Bearer``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g

from api.deps import bearer_token, resources
from ecert.errors import Unauthorized
from ecert.identity import CitizenIdentity

F = TypeVar("F", bound=Callable[..., Any])


# The OpenAPI security requirement of every citizen view (the scheme is declared in api.register).
CITIZEN_SECURITY: list[dict[str, list[str]]] = [{"citizen": []}]


def current_citizen() -> CitizenIdentity:
    citizen: CitizenIdentity = g.citizen  # set by citizen_required
    return citizen


def citizen_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token.count(".") != 2:
            # Staff session tokens are opaque: a staff token here is simply not an identity token.
            raise Unauthorized("token_malformed")
        g.citizen = resources().identity.verify(token)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
