"""What anyone may use without signing in: verification of a certificate.

- ``verifications``  ``POST /api/v1/verifications`` (a token, a paper number + code, a PDF)
- ``pages``          the verification web page (QR link, number + code form, PDF upload)
- ``messages``       the page's texts and the verdicts' titles
- ``templates/``     the page's HTML and its CSS (inlined, allowed by hash in the CSP)
"""
