"""The rules of the judicial-record service, as pure code: no I/O, no flask, no database.

Where to look:

- ``rules``       every legal parameter: forms, fees, deadlines and working days, statuses and
                  their transitions, refusal and revocation reasons, province and ID place codes.
- ``validation``  the request's field rules (names, phone, email, residence history), answering
                  in error codes keyed by field path; text normalisation.
- ``content``     what a certificate says: the canonical content, how records and bans show on
                  Form 1 and Form 2, and when a request needs a person to review it.
- ``i18n``        the one catalogue of Vietnamese and English texts for every code.
- ``states``      (to come) request, certificate, key and staff-role enums and their transitions.
- ``permissions`` (to come) which role may do what.

The services (``ecert.services``) apply these rules to the database; the HTTP edge (``api``)
only translates them.
"""
