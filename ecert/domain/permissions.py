"""Who may do what, as one table (to come: issue #14, item 5).

This module will hold the permission table checked by the services as well as at the HTTP
edge. Until then the rule "who may review, revoke, read the audit log" is the argument of each
``@staff_required(...)`` in ``api/staff/views.py``. The file exists now so that the map in
docs/architecture.md points at the place this rule is headed.
"""
