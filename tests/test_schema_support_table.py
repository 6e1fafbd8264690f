"""The generated support table: its cases are sound and not vacuous, every keyword of every draft and every
format has a row, and the committed ``docs/schema_support.md`` is what the generator produces now."""

from __future__ import annotations

import jsonschema_specifications
import pytest

from jsonschemabench import support_table as T
from tokensieve.schema._formats import FORMATS, IGNORED_KNOWN, RESTRICTED


def _id(case) -> str:
    return f"{T.CASES.index(case)}-{case.keywords[0]}-{case.situation or 'basic'}"


@pytest.mark.parametrize("case", T.CASES, ids=_id)
def test_case_is_sound(case):
    """Only an approximation asked for with lenient=True, or a keyword the specification makes an annotation,
    may accept an invalid instance; a compiled row must accept something and have something to reject."""
    obs = T.observe(case)
    assert obs.status != "unsound", (case.schema, obs.invalid_accepted)
    if obs.status == "lenient":
        assert case.note, "an approximation must say what it gives up"
    if obs.status in ("supported", "restricted"):
        assert obs.accepted >= 1 and (obs.invalid >= 1 or case.annotation), (case.schema, obs)
    if obs.status == "error":
        assert obs.error


def _all_keywords() -> set[str]:
    """The properties of every bundled metaschema from draft 4 to 2020-12 (vocabularies included)."""
    out = set()
    for uri in jsonschema_specifications.REGISTRY:
        contents = jsonschema_specifications.REGISTRY[uri].contents
        if "json-schema.org" in uri and "draft-03" not in uri and isinstance(contents, dict):
            out |= set(contents.get("properties", {}))
    return out


def test_every_keyword_has_a_row():
    keywords = _all_keywords()
    assert {"prefixItems", "$dynamicRef", "dependencies", "additionalItems", "$recursiveRef", "id"} <= keywords
    covered = {k for case in T.CASES for k in case.keywords}
    assert keywords - covered == set()


def test_every_format_has_a_row():
    rows = {case.situation for case in T.CASES if case.keywords[0] == "format"}
    assert set(FORMATS) | set(RESTRICTED) | IGNORED_KNOWN <= rows


def test_committed_table_is_current():
    """Regenerate with ``python -m jsonschemabench.support_table`` after changing the compiler or the cases."""
    assert T.DOC_PATH.read_text(encoding="utf-8") == T.render()


def test_check_mode_reports_staleness(tmp_path):
    out = tmp_path / "table.md"
    assert T.main(["--output", str(out)]) == 0
    assert T.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text() + "edited\n")
    assert T.main(["--check", "--output", str(out)]) == 1
