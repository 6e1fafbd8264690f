"""Results files: JSON Lines, appended one whole record at a time, resumable.

A record is written with a single ``write`` of the complete line and flushed; if the write fails (disk full)
the file is cut back to its previous length so it stays a valid JSONL file holding every earlier record, and a
:class:`ResultsWriteError` names the file and how many records are safe. On resume a torn last line (a process
killed mid-write) is dropped.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

__all__ = ["ResultsWriteError", "ResultsWriter", "read_records"]


class ResultsWriteError(Exception):
    """Writing a result failed (e.g. the disk is full); the records written before are intact."""


def read_records(path: Path, kind: str | None = None) -> Iterator[dict]:
    """The records of a JSONL file (``kind`` filters on the ``kind`` field); unparsable lines are skipped."""
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and (kind is None or rec.get("kind") == kind):
                yield rec


class ResultsWriter:
    """Appends records to ``path``; ``done`` holds the keys already present (for resuming).

    Parameters: ``key_fields`` name the fields that identify a record; ``resume`` False truncates the file.
    """

    def __init__(self, path: Path, key_fields: Iterable[str], *, kind: str, resume: bool = True):
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.kind = kind
        self.done: set[tuple] = set()
        self.written = 0
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self._drop_torn_tail()
            for rec in read_records(self.path, kind):
                self.done.add(self.key(rec))
        elif self.path.exists():
            self.path.write_bytes(b"")
        try:
            self.f = open(self.path, "ab")
        except OSError as e:
            raise ResultsWriteError(f"cannot open results file {self.path}: {e.strerror or e}") from None

    def key(self, rec: dict) -> tuple:
        return tuple(rec.get(k) for k in self.key_fields)

    def _drop_torn_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)

    def write(self, rec: dict) -> None:
        """Append one record.

        Raises:
            ResultsWriteError: the write failed; the file is restored to its previous content.
        """
        rec = {"kind": self.kind, **rec}
        line = (json.dumps(rec, ensure_ascii=False, default=_default) + "\n").encode("utf-8")
        pos = self.f.tell()
        try:
            self.f.write(line)
            self.f.flush()
        except OSError as e:
            self._restore(pos)
            what = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
            raise ResultsWriteError(
                f"cannot write to {self.path}: {what}. The {len(self.done)} records written so far are intact; "
                "free space and rerun the same command to resume.") from None
        self.done.add(self.key(rec))
        self.written += 1

    def _restore(self, pos: int) -> None:
        try:
            self.f.close()
        except OSError:
            pass  # a buffered tail may fail to flush again; the truncate below removes it anyway
        try:
            with open(self.path, "r+b") as f:
                f.truncate(pos)
        except OSError:
            pass
        try:
            self.f = open(self.path, "ab")
        except OSError:
            self.f = open(os.devnull, "ab")

    def close(self) -> None:
        try:
            self.f.close()
        except OSError:
            pass


def _default(o: Any):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
