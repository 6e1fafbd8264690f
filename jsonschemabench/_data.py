"""Finding and loading the benchmark data: JSONSchemaBench subsets, the few-shot prompts, MaskBench files.

The data lives in ``../shared/data`` when the repository sits next to it; otherwise the committed sample under
``jsonschemabench/sample`` (a few schemas per subset) keeps every command working on a fresh machine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ALL_SUBSETS", "PAPER_SUBSETS", "DataError", "SchemaItem", "default_data_dir", "default_maskbench_dir",
    "discover_subsets", "few_shot_messages", "find_few_shot_file", "list_schemas", "load_maskbench",
    "maskbench_files", "pick", "resolve_subsets",
]

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = PACKAGE_DIR / "sample"
_SHARED = PACKAGE_DIR.parent.parent / "shared" / "data"

#: The eight subsets the paper reports (Github_trivial and Github_ultra were left out as too easy / too hard).
PAPER_SUBSETS = ("Glaiveai2K", "Github_easy", "Snowplow", "Github_medium", "Kubernetes", "WashingtonPost",
                 "Github_hard", "JsonSchemaStore")
ALL_SUBSETS = PAPER_SUBSETS[:2] + ("Github_trivial",) + PAPER_SUBSETS[2:] + ("Github_ultra",)


class DataError(Exception):
    """The data directory, a subset name or the prompt file is missing or unusable (a usage error)."""


@dataclass(frozen=True)
class SchemaItem:
    """One benchmark schema: ``subset``, ``name`` (file stem), ``path``; ``key`` is ``subset/name``."""

    subset: str
    name: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.subset}/{self.name}"

    def load(self) -> tuple[Any, str | None]:
        """``(schema, None)``, or ``(None, reason)`` when the file is unreadable or not a JSON Schema."""
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            return None, f"cannot read {self.path}: {e}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            return None, f"not JSON: {e.msg} at line {e.lineno} column {e.colno}"
        if not isinstance(value, (dict, bool)):
            return None, f"a JSON Schema must be an object or a boolean, got {type(value).__name__}"
        return value, None


def default_data_dir() -> Path:
    """``../shared/data/jsonschemabench`` next to the repository if present, else the committed sample."""
    shared = _SHARED / "jsonschemabench"
    return shared if shared.is_dir() else SAMPLE_DIR / "jsonschemabench"


def default_maskbench_dir() -> Path:
    """``../shared/data/maskbench`` if present, else the committed MaskBench sample."""
    shared = _SHARED / "maskbench"
    return shared if shared.is_dir() else SAMPLE_DIR / "maskbench"


def discover_subsets(data_dir: Path) -> dict[str, list[Path]]:
    """Subset name -> sorted schema files, one folder per subset (a folder of bare ``.json`` files is one subset).

    Raises:
        DataError: the directory is missing or holds no schema.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory not found: {data_dir} (expected one folder per subset, e.g. "
                        f"{data_dir}/Glaiveai2K/*.json)")
    found = {d.name: sorted(d.glob("*.json")) for d in sorted(data_dir.iterdir()) if d.is_dir()}
    found = {k: v for k, v in found.items() if v}
    if not found:
        files = sorted(p for p in data_dir.glob("*.json") if p.name != "few_shot_examples.json")
        if files:
            found = {data_dir.name: files}
    if not found:
        raise DataError(f"no schemas in {data_dir}: expected subset folders holding .json files")
    return found


def resolve_subsets(spec: str | None, available: dict[str, list[Path]], default: str = "all") -> list[str]:
    """Subset names from ``spec``: ``all``, ``paper`` (the paper's eight) or a comma list.

    Raises:
        DataError: a named subset is not in the data directory.
    """
    spec = (spec or default).strip()
    if spec == "all":
        names = [s for s in ALL_SUBSETS if s in available] + sorted(set(available) - set(ALL_SUBSETS))
    elif spec == "paper":
        names = [s for s in PAPER_SUBSETS if s in available]
        if not names:
            raise DataError(f"none of the paper's subsets ({', '.join(PAPER_SUBSETS)}) is in the data directory")
    else:
        names = [s.strip() for s in spec.split(",") if s.strip()]
        lower = {k.lower(): k for k in available}
        unknown = [s for s in names if s not in available and s.lower() not in lower]
        if unknown:
            raise DataError(f"unknown subset(s) {', '.join(unknown)}; available: {', '.join(sorted(available))}")
        names = [s if s in available else lower[s.lower()] for s in names]
    return names


def pick(items: list, limit: int | None, seed: int | None) -> list:
    """The first ``limit`` items, in sorted order or, with ``seed``, in a seeded shuffle (a reproducible sample)."""
    items = list(items)
    if seed is not None:
        random.Random(seed).shuffle(items)
    return items if limit is None or limit < 0 else items[:limit]


def list_schemas(data_dir: Path, subsets: str | None, limit: int | None = None, seed: int | None = None,
                 default: str = "all") -> list[SchemaItem]:
    """The schemas to run, subset by subset (``limit`` per subset)."""
    available = discover_subsets(data_dir)
    out = []
    for s in resolve_subsets(subsets, available, default):
        out += [SchemaItem(s, p.stem, p) for p in pick(available[s], limit, seed)]
    return out


# ------------------------------------------------------------------------------------------- prompt

def find_few_shot_file(data_dir: Path | None = None, explicit: Path | None = None) -> Path:
    """The few-shot prompt file: ``explicit``, else next to or inside ``data_dir``, else the committed copy.

    Raises:
        DataError: ``explicit`` is given but missing.
    """
    if explicit is not None:
        if not Path(explicit).is_file():
            raise DataError(f"few-shot prompt file not found: {explicit}")
        return Path(explicit)
    if data_dir is not None:
        d = Path(data_dir)
        for cand in (d / "few_shot_examples.json", d / "prompts" / "few_shot_examples.json",
                     d.parent / "few_shot_examples.json"):
            if cand.is_file():
                return cand
    return SAMPLE_DIR / "few_shot_examples.json"


def few_shot_messages(prompt_file: Path, subset: str, schema: Any) -> list[dict]:
    """The paper's chat prompt: the system line, the subset's few-shot pairs, then ``json.dumps(schema)``.

    Subsets without their own examples get the ``default`` entry (zero shots).

    Raises:
        DataError: the prompt file is unreadable or malformed.
    """
    data = _prompt_data(Path(prompt_file))
    entry = None
    for task in data["tasks"]:
        if subset in task.get("tasks", ()):
            entry = task
            break
    if entry is None:
        entry = next((t for t in data["tasks"] if "default" in t.get("tasks", ())), {"examples": []})
    examples = entry.get("examples", [])[:5]  # the runner uses min(len(examples), 5) shots
    messages = [{"role": "system", "content": data["system_prompt"]}]
    for ex in examples:
        messages.append({"role": "user", "content": ex["user"]})
        messages.append({"role": "assistant", "content": ex["assistant"]})
    messages.append({"role": "user", "content": json.dumps(schema)})
    return messages


_PROMPTS: dict[Path, dict] = {}


def _prompt_data(path: Path) -> dict:
    data = _PROMPTS.get(path)
    if data is None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data.get("system_prompt"), str) or not isinstance(data.get("tasks"), list):
                raise ValueError("expected keys 'system_prompt' (string) and 'tasks' (list)")
        except (OSError, ValueError, AttributeError) as e:
            raise DataError(f"unusable few-shot prompt file {path}: {e}") from None
        _PROMPTS[path] = data
    return data


# ------------------------------------------------------------------------------------------- MaskBench

def maskbench_files(mb_dir: Path, subsets: str | None, sample: int | None, seed: int | None = 0
                    ) -> list[SchemaItem]:
    """MaskBench files ``<Subset>---<name>.json`` grouped by subset, ``sample`` per subset (seeded shuffle).

    Raises:
        DataError: the directory is missing or holds no MaskBench file.
    """
    mb_dir = Path(mb_dir)
    if not mb_dir.is_dir():
        raise DataError(f"MaskBench directory not found: {mb_dir} (expected <Subset>---<name>.json files)")
    groups: dict[str, list[Path]] = {}
    for p in sorted(mb_dir.glob("*.json")):
        subset = p.name.split("---", 1)[0] if "---" in p.name else p.stem.rsplit("_", 1)[0]
        groups.setdefault(subset, []).append(p)
    if not groups:
        raise DataError(f"no MaskBench files in {mb_dir}")
    out = []
    for s in resolve_subsets(subsets, groups):
        for p in pick(groups[s], sample, seed):
            out.append(SchemaItem(s, p.stem.split("---", 1)[-1], p))
    return out


def load_maskbench(item: SchemaItem) -> tuple[dict | None, str | None]:
    """``({"schema", "tests"}, None)`` or ``(None, reason)`` for a file that is not a MaskBench record."""
    value, err = item.load()
    if err:
        return None, err
    if not isinstance(value, dict) or "schema" not in value or not isinstance(value.get("tests", []), list):
        return None, "not a MaskBench record (expected keys 'schema' and 'tests')"
    return value, None
