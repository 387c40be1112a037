"""Writing the raw files: one per table, appended chunk by chunk, renamed on success."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retention.contract import TABLES
from retention.generate.common import FORMATS
from retention.generate.dirty import DEFECTS_FILE
from retention.generate.text import raw_schema

# === writing =================================================================================


class TableWriter:
    """Appends chunks to `<table>.<format>` (via a partial file renamed on success)."""

    def __init__(self, out: Path, name: str, fmt: str):
        self.path = out / f"{name}.{fmt}"
        self.partial = out / f".{name}.{fmt}.partial"
        self.schema = raw_schema(name)
        self.rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self.partial, self.schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(self.partial, self.schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        self.partial.replace(self.path)

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.partial.unlink(missing_ok=True)


def clear_outputs(out: Path) -> None:
    """Remove raw files of an earlier run, so that DIR holds exactly this data set."""
    for name in TABLES:
        for fmt in FORMATS:
            (out / f"{name}.{fmt}").unlink(missing_ok=True)
    (out / DEFECTS_FILE).unlink(missing_ok=True)
