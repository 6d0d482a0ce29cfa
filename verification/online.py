"""Online status for the offline verifier: ask the issuing server about one token.

The server's public API answers ``POST {server}/api/v1/verifications {"qr": token}`` with a
full verdict (DESIGN §11). The signature is still verified locally (a third party need not trust
the transport for that); only the revocation status is taken from the server's answer. The token
goes to the server, never the PDF: the PDF holds the full record, the token only public fields.
"""

from __future__ import annotations

from typing import Any, Final

from . import _http
from .status import CertificateStatus, StatusUnavailable
from .token import MalformedToken, decode_token

VERIFY_PATH: Final = "/api/v1/verifications"


class ServerStatusLookup:
    """A ``status_lookup`` for one token, answered by the issuing server.

    The server verifies by token, not by cti, so the lookup is bound to its token and refuses to
    answer for another cti. ``server_result`` keeps the server's whole answer for display.
    """

    def __init__(self, server_url: str, token: str, timeout: float = 10.0) -> None:
        self.url = _http.check_url(server_url.rstrip("/") + VERIFY_PATH)
        self.timeout = timeout
        self.server_result: dict[str, Any] | None = None
        try:
            decoded = decode_token(token)
        except MalformedToken:
            self.token, self._cti = token, None
        else:
            # The bare token, not the QR URL: the server needs no more than that.
            self.token, self._cti = decoded.token, decoded.claims.cti

    def __call__(self, cti: bytes) -> CertificateStatus:
        if self._cti is None or cti != self._cti:
            raise StatusUnavailable("this lookup is bound to another certificate")
        try:
            answer = _http.request_json(self.url, body={"qr": self.token}, timeout=self.timeout)
        except _http.HttpError as exc:
            raise StatusUnavailable(str(exc)) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("outcome"), str):
            raise StatusUnavailable("the server's answer is not a verification result")
        self.server_result = answer
        outcome = answer["outcome"]
        if outcome == "valid":
            return CertificateStatus("valid")
        if outcome == "revoked":
            return CertificateStatus("revoked")
        if outcome == "not_found":
            return CertificateStatus("not_found")
        # status_unavailable, or the server disagrees with our local verdict (e.g. a newer trust
        # list revoked the key): we cannot call it valid, and say so (fail closed).
        raise StatusUnavailable(f"the server's verdict is {outcome!r}")
