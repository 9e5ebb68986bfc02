"""Exchange: referrals as signed, encrypted FHIR R4 Bundles between a practice and a hub.

``fhir`` builds and checks Bundles, ``fhir_questionnaire`` renders the screening
questionnaire and its answers as FHIR, ``keys`` makes and trusts keys, ``jose`` signs and
encrypts (and the reverse), ``inbound`` applies received Bundles, ``files`` writes atomically.
"""
