"""Statuses and the moves between them (to come: issue #14, item 4).

This module will hold ``StrEnum``s for the request, certificate and signing-key statuses and
the staff roles, mapped in the models, with one ``move()`` that enforces the transition table.
Until then the statuses and ``ALLOWED_TRANSITIONS`` live in ``ecert.domain.rules`` and the roles
in ``ecert.services.staff.ROLES``. The file exists now so that the map in docs/architecture.md
points at the place these rules are headed.
"""
