"""Exchange: referrals as signed, encrypted FHIR R4 Bundles between a practice and a hub.

``fhir`` builds and checks Bundles, ``keys`` makes and trusts keys, ``jose`` signs and
encrypts (and the reverse), ``inbound`` applies received Bundles, ``files`` writes atomically.
"""
