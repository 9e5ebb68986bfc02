"""Casework (issue 20): a person's social prescribing episodes, contacts, case notes,
goals, and the link worker's caseload. Plain functions over a session; no front end here.

- ``episodes``: start, decline, close, "what matters to me"
- ``contacts``: book or record contacts, their status, ONS4 at the start and at reviews
- ``notes``: case notes, corrected by a new note, never deleted, never shared
- ``goals``: goals of the plan, linked to needs and so to referrals; progress over time
- ``caseload``: open episodes with last and next contact and what needs attention
"""
