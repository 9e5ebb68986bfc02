"""What ``alembic_version`` holds in a database at the newest schema, in a module of its own
so a reader that does not load SQLAlchemy (``linkwork.light_read``: the app's home screen)
can tell whether a database is current without importing ``linkwork.db``.

``upgrade heads`` records only the heads no other branch depends on. A database holding
exactly these needs no migration, so opening it needs no Alembic import at all (~0.1-0.3 s
of every start). tests/test_foundation_db.py checks this against the migration scripts: a
new revision must update it.
"""

from __future__ import annotations

CURRENT_REVISIONS = frozenset({"acc_0001", "cnt_0006", "dir_0002", "scr_0006", "xch_0003"})
