"""The staff API (the console at /staff/ calls it): sign-in, review, refusal, revocation, audit.

- ``auth``      ``@staff_required(permission)``: the opaque session token, the permission check
- ``views``     the endpoints; each one's ``@staff_required`` names the permission it needs
- ``schemas``   the payloads
- ``messages``  texts for the codes only the staff API produces
"""
