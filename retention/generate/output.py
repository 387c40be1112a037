"""Writing the raw files: one per table, appended chunk by chunk into hidden partial files,
which replace the earlier data set in the folder only once every file is complete."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retention import signals
from retention.contract import TABLES
from retention.generate.common import FORMATS
from retention.generate.dirty import DEFECTS_FILE
from retention.generate.text import raw_schema

# === writing =================================================================================


class TableWriter:
    """Appends chunks to `<table>.<format>` (via a partial file renamed on commit)."""

    def __init__(self, out: Path, name: str, fmt: str):
        self.path = out / f"{name}.{fmt}"
        self.partial = _partial(self.path)
        self.schema = raw_schema(name)
        self.rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self.partial, self.schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(self.partial, self.schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def finish(self) -> None:
        """Complete the partial file (a Parquet footer, the last buffered rows)."""
        self._writer.close()

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.partial.unlink(missing_ok=True)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


class Output:
    """The data set being written into `out`. Every file is written to a hidden partial file
    (which `retention load` never reads); `commit` replaces the files of an earlier data set
    (the raw files of either format and the defects report) only once all are complete, so
    a run that fails or is interrupted leaves the folder's earlier data set as it was."""

    def __init__(self, out: Path, fmt: str):
        self.out = out
        self.writers: dict[str, TableWriter] = {}
        self._texts: dict[Path, str] = {}
        try:
            for name in TABLES:
                self.writers[name] = TableWriter(out, name, fmt)
        except BaseException:
            self.abort()
            raise

    def add_text(self, name: str, text: str) -> None:
        """A side file (the defects report), written on commit beside the raw files."""
        self._texts[self.out / name] = text

    def commit(self) -> None:
        """Replace the earlier data set. A required table without rows gets no file:
        `retention load` refuses a header-only file of a required table."""
        for writer in self.writers.values():
            writer.finish()
        for path, text in self._texts.items():
            _partial(path).write_text(text, encoding="utf-8")
        for name in self.unwritten():
            self.writers[name].abort()
        new = {w.path: w.partial for n, w in self.writers.items() if n not in self.unwritten()}
        new |= {path: _partial(path) for path in self._texts}
        # From here the folder changes: no signal may leave it half old, half new.
        with signals.deferred():
            for stale in _outputs(self.out) - set(new):
                stale.unlink(missing_ok=True)
            for path, partial in new.items():
                partial.replace(path)

    def unwritten(self) -> list[str]:
        """The tables that get no file: required ones without rows."""
        return [
            name
            for name, writer in self.writers.items()
            if writer.rows == 0 and not TABLES[name].is_optional_table
        ]

    def abort(self) -> None:
        try:
            for writer in self.writers.values():
                writer.abort()
        finally:
            for path in self._texts:
                _partial(path).unlink(missing_ok=True)


def _outputs(out: Path) -> set[Path]:
    """Every file a data set of the generator may hold in `out`."""
    raw = {out / f"{name}.{fmt}" for name in TABLES for fmt in FORMATS}
    return raw | {out / DEFECTS_FILE}
