"""The bundled sample directory (400 synthetic services in five fictional towns)."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from sqlmodel import Session, select

from directory.importer import ImportSummary, import_feed
from directory.models import Service
from directory.sources import document_feed

SAMPLE_FILE = "directory-sample.oruk.json.gz"
SAMPLE_SOURCE = "directory-sample"  # the same name an import of the shared file gets


def load_sample_directory(session: Session) -> ImportSummary:
    """Import the bundled sample into ``session`` (idempotent; the caller commits)."""
    data = resources.files("linkwork").joinpath("data", SAMPLE_FILE).read_bytes()
    doc = json.loads(gzip.decompress(data))
    feed = document_feed(doc, SAMPLE_SOURCE, label=f"bundled {SAMPLE_FILE}")
    return import_feed(session, feed)


def directory_is_empty(session: Session) -> bool:
    return session.exec(select(Service.id).limit(1)).first() is None
