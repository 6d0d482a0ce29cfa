"""Development only: what lets the service be tried on a laptop, never used in production.

- ``idp``      the development identity provider (a key in instance/idp/, tokens for citizens)
- ``demo``     the demo citizens and their judicial records (``ecert seed-demo``)
- ``welcome``  what ``make run`` prints before gunicorn starts (``python -m ecert.dev.welcome``)
"""
