"""The person's record (domain core): rules over a SQLModel ``Session`` passed in (no terminal,
no settings of its own), on SQLite and PostgreSQL.

- ``models``: the record's tables; ``lookup``: a row by its id or a unique start of it.
- ``people``: a person's details; ``nhs``: NHS numbers; ``equality``: the equality fields.
- ``questionnaire``: the screening questionnaire and its workflow; ``needs``: coded needs.
- ``consent``: consent to share; ``referrals``: referrals, their status and outcomes.
- ``audit``: the append-only, tamper-evident audit trail.
- ``counts``: counts for data leads, published through ``disclosure`` (disclosure control).
- ``exchange``: referrals as signed, encrypted FHIR R4 Bundles between practice and hub.

Nothing here imports ``linkwork``, ``tui``, Textual or Typer (``tests/test_layering.py``).
"""
