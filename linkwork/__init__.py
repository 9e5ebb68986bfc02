"""linkwork: the application shell (CLI, settings, database, migrations, sample data).

The domain lives in the top-level packages ``codes``, ``directory`` and ``screening``;
this package wires them to a database and a command line.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("linkwork")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
