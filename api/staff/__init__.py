"""The staff API (the console at /staff/ calls it): sign-in, review, refusal, revocation, audit.

- ``auth``      ``@staff_required(*roles)``: the opaque session token, the role check
- ``views``     the endpoints; each one's ``@staff_required`` names the roles allowed
- ``schemas``   the payloads
- ``messages``  texts for the codes only the staff API produces
"""
