"""The local service directory (domain core): services from Open Referral UK feeds, and
finding the right one for a person's needs.

- ``sources`` (where a feed comes from), ``bounded`` (every read of it within limits),
  ``feeds`` and ``csvfeed`` (reading ORUK JSON and CSV into ``records``, each value through
  ``fields``: type, size and characters checked), ``importer`` (into the tables in
  ``models``), ``taxonomy`` (a service's need domains and Z codes).
- ``untrusted``: the one boundary for text from outside (in: cleaned; out: escaped).
- ``index`` (the search index's data), ``search`` (``ServiceIndex``: querying and ranking),
  ``matches`` (what a search gives back), ``vocabulary`` and ``text`` (query words),
  ``near`` (searching near a place as it is typed).
- ``service``: one service looked up and described; ``stale``: the one rule for when a
  service's details are too old to trust (the CLI, the app's list and its detail pane).
- ``notfound``: ``NotFound``, "no such record" (exit 1), raised by every domain package.

Nothing here imports ``linkwork``, ``tui``, Textual or Typer (``tests/test_layering.py``).
"""
