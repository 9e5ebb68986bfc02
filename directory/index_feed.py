"""The search index fed by an import as it writes, instead of read back from the database.

A first import into an empty directory (no service at all, no organisation or location of
the feed) writes every service the index will hold, each as a new row: ``ImportIndex``
takes each batch of new services as the importer writes them (``directory.importer``)
and adds them to an ``IndexBuilder`` and to the index file's record lines at once, with
the organisation names and places as the batch stored them. The index file it saves is
the one ``directory.index_file.write_index`` would write from the database after the
import, byte for byte: the same services (active ones), in the same order (service
number: new rows are numbered as inserted, which is checked), with the same values.

Anything else gives it up (``usable`` false; the caller then builds the index from the
database as before): a directory that already had services or this feed's places, a
service updated, unchanged or withdrawn, numbers not ascending, or an organisation or
place whose indexed values (name; town, postcode, coordinates) change after a service
already indexed used them (a later, fuller copy in the feed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directory.index import BATCH, IndexBuilder, IndexDoc
from directory.index_file import _fast_line, _save, _Spill, _spill_docs, directory_stamp
from directory.search import ServiceIndex

if TYPE_CHECKING:
    from sqlmodel import Session

    from directory.records import ServiceRecord

Place = tuple[str, str, float | None, float | None]  # (town, postcode, latitude, longitude)


class ImportIndex:
    """The index of the services one import writes (see the module's docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.usable = False  # until ``begin`` finds an empty directory
        self.stamp: str | None = None  # the directory's, in the import's transaction
        self._builder: IndexBuilder | None = None
        self._docs: _Spill | None = None
        self._names: _Spill | None = None
        self._line: Any = None
        self._pending: list[IndexDoc] = []
        self._last = 0  # the highest service number indexed
        self._org_name: dict[int, str] = {}  # organisation row -> its name as stored
        self._place: dict[int, Place] = {}  # location row -> its values as stored
        self._used_orgs: set[int] = set()
        self._used_places: set[int] = set()

    # --- fed by the importer, in its transaction -----------------------------------------

    def begin(self, session: Session, source: str) -> None:
        """Usable only for an import into a directory with no service at all and none of
        this feed's organisations or locations (every row the index needs is written by
        this import)."""
        import sqlalchemy as sa

        from directory.models import Location, Organisation, Service

        conn = session.connection()

        def any_row(table: Any, *where: Any) -> bool:
            found = conn.execute(sa.select(table.c.id).where(*where).limit(1)).first()
            return found is not None

        service, org, loc = _table(Service), _table(Organisation), _table(Location)
        if any_row(service) or any_row(org, org.c.source == source):
            return
        if any_row(loc, loc.c.source == source):
            return
        try:  # (a folder it cannot write to is the index build's to report, after the import)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._docs, self._names = _Spill(self.folder), _Spill(self.folder)
        except OSError:
            self.close()
            return
        self.usable = True
        self._builder = IndexBuilder()
        self._line = _fast_line()

    def give_up(self) -> None:
        """The index cannot be fed from this import: let go of what was built."""
        self.usable = False
        self._builder = None
        self._pending = []
        self._org_name, self._place = {}, {}
        self._used_orgs, self._used_places = set(), set()
        self.close()

    def organisations(
        self, stored: Mapping[str, Mapping[str, Any]], ids: Mapping[str, int]
    ) -> None:
        """Organisations a batch stored (source id -> values written) and their rows."""
        if not self.usable:
            return
        names, used = self._org_name, self._used_orgs
        for sid, values in stored.items():
            row, name = ids[sid], values["name"]
            if row in used and names.get(row) != name:
                self.give_up()  # a service already indexed shows another name
                return
            names[row] = name

    def locations(self, stored: Mapping[str, Mapping[str, Any]], ids: Mapping[str, int]) -> None:
        """Locations a batch stored (source id -> values written) and their rows."""
        if not self.usable:
            return
        places, used = self._place, self._used_places
        for sid, v in stored.items():
            row = ids[sid]
            lat, lon = v["latitude"], v["longitude"]
            # as the database gives them back: a REAL column's value is a float
            place = (
                v["town"],
                v["postcode"],
                None if lat is None else float(lat),
                None if lon is None else float(lon),
            )
            if row in used and places.get(row) != place:
                self.give_up()
                return
            places[row] = place

    def services(
        self,
        records: Sequence[ServiceRecord],
        ids: Mapping[str, int],
        org_ids: Mapping[str, int],
        loc_ids: Mapping[str, int],
    ) -> None:
        """New services a batch inserted (``ids``: source id -> service number), indexed
        as ``directory.index.stream_docs`` reads them back: active ones only, in service
        number order, each location once, in location row order."""
        if not self.usable:
            return
        org_name, places = self._org_name, self._place
        used_orgs, used_places = self._used_orgs, self._used_places
        docs: list[IndexDoc] = []
        try:
            for record in sorted(records, key=lambda r: ids[r.source_id]):
                number = ids[record.source_id]
                if number <= self._last:
                    self.give_up()
                    return
                self._last = number
                if record.status != "active":
                    continue
                organisation = ""
                if record.organisation is not None:
                    row = org_ids[record.organisation.source_id]
                    organisation = org_name[row]
                    used_orgs.add(row)
                rows = sorted({loc_ids[loc.source_id] for loc in record.locations})
                used_places.update(rows)
                docs.append(
                    IndexDoc(
                        service_id=number,
                        source_id=record.source_id,
                        name=record.name,
                        organisation=organisation or "",
                        description=record.description,
                        # the record's own lists: the document is only read, then let go
                        taxonomy_terms=record.taxonomy_terms,
                        domains=record.domains,
                        z_codes=record.z_codes,
                        languages=record.languages,
                        min_age=None if record.min_age is None else int(record.min_age),
                        max_age=None if record.max_age is None else int(record.max_age),
                        is_free=bool(record.is_free),
                        last_verified=record.last_verified,
                        opening_hours=record.opening_hours,
                        phone=record.phone or "",
                        locations=[places[r] for r in rows],
                    )
                )
        except KeyError:  # a row this import did not write (cannot be, once begun)
            self.give_up()
            return
        assert self._docs is not None and self._names is not None
        _spill_docs(docs, self._docs, self._names, self._line)
        self._pending.extend(docs)
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        assert self._builder is not None
        self._builder.add_many(self._pending)
        self._pending = []

    def finish(self, session: Session) -> None:
        """The import is written: check the directory holds just the services indexed
        and note its stamp (read in the import's transaction)."""
        if not self.usable:
            return
        import sqlalchemy as sa

        from directory.models import Service

        table = _table(Service)
        active = session.connection().execute(
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.withdrawn == sa.false(), table.c.status == "active")
        )
        assert self._docs is not None
        if active.scalar_one() != len(self._docs.ends) - 1:
            self.give_up()
            return
        self._org_name, self._place = {}, {}
        self._used_orgs, self._used_places = set(), set()
        self.stamp = directory_stamp(session)

    # --- after the import committed ---------------------------------------------------

    def save(self, path: Path, stamp: str) -> int:
        """Write the index file at ``path`` (atomically) with ``stamp``; the number of
        services indexed."""
        assert self.usable and self._builder is not None
        assert self._docs is not None and self._names is not None
        self._flush()
        index = ServiceIndex.__new__(ServiceIndex)
        self._builder.finish(index, searched=False)
        self._builder = None
        _save(index, path, stamp, self._docs, self._names)
        return index.size

    def close(self) -> None:
        """Let go of the temporary files (always: saved or not)."""
        for spill in (self._docs, self._names):
            if spill is not None:
                spill.close()
        self._docs = self._names = None


def _table(model: Any) -> Any:
    return model.__table__
