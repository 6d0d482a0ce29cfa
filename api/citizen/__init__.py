"""The citizen's API, called by the identity app with the citizen's identity token.

- ``auth``          ``@citizen_required``: the identity token in ``Authorization: Bearer``
- ``me``            ``GET /api/v1/me``: who the token says the citizen is, and any open request
- ``requests``      ask for a certificate, follow it, cancel it
- ``certificates``  the citizen's certificates: JSON, signed PDF, QR; the public trust list
- ``schemas``       the payloads (shape only; the rules are in ``ecert.domain``)
"""
