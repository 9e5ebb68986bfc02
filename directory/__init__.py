"""The local service directory (domain core): services from Open Referral UK feeds, and
finding the right one for a person's needs.

- ``sources`` (where a feed comes from), ``feeds`` (reading it), ``importer`` (into the
  tables in ``models``), ``taxonomy`` (a service's need domains and Z codes).
- ``index`` (the search index's data), ``search`` (``ServiceIndex``: querying and ranking),
  ``matches`` (what a search gives back), ``vocabulary`` and ``text`` (query words),
  ``near`` (searching near a place as it is typed).
- ``service``: one service looked up and described.

Nothing here imports ``linkwork``, ``tui``, Textual or Typer (``tests/test_layering.py``).
"""
