"""``format`` values as exact regular languages.

Policy: the formats in :data:`FORMATS` are enforced on strings (JSON Schema 2020-12 makes ``format`` an
annotation by default; enforcing is what users of constrained decoding expect). ``idn-email`` and
``idn-hostname`` (they need IDNA tables, yet ``validate`` asserts them) raise UnsupportedFeatureError;
``lenient=True`` ignores them. Unknown format names are the annotation the spec says
they are and are ignored (``validate`` ignores them too); with ``strict=True`` they raise instead.

Documented restrictions (each makes the language smaller, never larger):

* ``time``/``date-time``: a leap second (``:60``) is accepted only as ``23:59:60`` with offset ``Z``/``+00:00``/
  ``-00:00`` (the same instant written with another offset is rejected).
* ``hostname``: labels (1-63 letters, digits, hyphens; no leading/trailing hyphen) must not contain ``--`` in
  positions 3-4, so IDNA A-labels (``xn--``) are rejected; the 253-character total is guaranteed by shape: up to
  3 labels of <= 63 characters, 4 of <= 62, 5-8 of <= 30 or 9-16 of <= 14 (longer mixes are rejected).
* ``email``: RFC 5321 ``Mailbox`` (dot-atom or quoted local part; hostname, IPv4 or IPv6 literal domain) without
  the length limits.
* ``regex`` (valid regular expressions are not a regular language: groups nest): a syntax that both ECMA-262
  and Python ``re`` accept, with at most 3 nested groups ``(...)``/``(?:...)``; atoms are literal characters
  (not ``\\^$.|?*+()[]{}``), ``.``, escapes ``\\d \\D \\w \\W \\s \\S \\n \\r \\t \\f \\v`` and escaped
  metacharacters, classes ``[...]``/``[^...]`` (plain characters, those escapes, ranges within digits, lower-case
  or upper-case letters, ``-`` first or last); quantifiers ``* + ? {n} {n,}`` (n < 1000) and ``{n,m}``
  (n <= m < 100), optionally lazy; anchors ``^ $ \\b \\B`` unquantified. No lookaround, backreferences, named
  groups or flags.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .._errors import UnsupportedFeatureError
from ._lang import Lang
from ._regex_ecma import parse_ecma
from ._strings import string_lang

__all__ = ["FORMATS", "RESTRICTED", "format_lang", "format_regex", "IGNORED_KNOWN"]

_HEX = "[0-9A-Fa-f]"
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = f"{_HEX}{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "(?:" + "|".join([
    f"(?:{_H16}:){{6}}{_LS32}",
    f"::(?:{_H16}:){{5}}{_LS32}",
    f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"

# --- dates and times (RFC 3339 section 5.6) ---
_YEAR = "[0-9]{4}"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = ("(?:" + "|".join([
    f"{_YEAR}-(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
    f"{_YEAR}-(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
    f"{_YEAR}-02-(?:0[1-9]|1[0-9]|2[0-8])",
    f"{_LEAP_YEAR}-02-29",
]) + ")")
_HH = "(?:[01][0-9]|2[0-3])"
_MM = "[0-5][0-9]"
_FRAC = r"(?:\.[0-9]+)?"
_OFFSET = f"(?:[Zz]|[+-]{_HH}:{_MM})"


# a leap second is 23:59:60 UTC; written with another offset it would need hour/minute arithmetic across the
# offset, which multiplies the automaton (and any complement of it) by the number of offsets
_LEAP_SECOND = rf"23:59:60{_FRAC}(?:[Zz]|[+-]00:00)"
_TIME = f"(?:{_HH}:{_MM}:[0-5][0-9]{_FRAC}{_OFFSET}|{_LEAP_SECOND})"
_DATE_TIME = f"{_DATE}[Tt]{_TIME}"

_DUR_TIME = "T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
_DURATION = (f"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:{_DUR_TIME})?"
             f"|{_DUR_TIME}|[0-9]+W)")

# --- host names (RFC 1123, no IDNA A-labels) ---
_A = "[A-Za-z0-9]"
_M = "[A-Za-z0-9-]"


def _label(m: int) -> str:
    alts = [_A]
    if m >= 2:
        alts.append(_A + _A)
    if m >= 3:
        alts.append(_A + _M + _A)
    if m >= 4:
        alts.append(_A + _M + _M + _A)
    if m >= 5:
        alts.append(f"{_A}{_M}(?:{_A}{_M}|-{_A}){_M}{{0,{m - 5}}}{_A}")
    return "(?:" + "|".join(alts) + ")"


def _hostname() -> str:
    # (max label length, min labels, max labels): each group keeps k*m + k - 1 <= 253
    groups = [(63, 1, 3), (62, 4, 4), (30, 5, 8), (14, 9, 16)]
    alts = []
    for m, k1, k2 in groups:
        lab = _label(m)
        rest = "" if k2 == 1 else f"(?:\\.{lab}){{{k1 - 1},{k2 - 1}}}"
        alts.append(lab + rest)
    return "(?:" + "|".join(alts) + ")"


# --- e-mail (RFC 5321 Mailbox) ---
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_QTEXT = r"[ !#-\[\]-~]"
_LOCAL = rf'(?:{_ATEXT}+(?:\.{_ATEXT}+)*|"(?:{_QTEXT}|\\[ -~])*")'
_EMAIL_DOMAIN = rf"(?:{_label(63)}(?:\.{_label(63)})*|\[{_IPV4}\]|\[IPv6:{_IPV6}\])"
_EMAIL = f"{_LOCAL}@{_EMAIL_DOMAIN}"

# --- URIs (RFC 3986) and IRIs (RFC 3987) ---
_UCS = (r"\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\u{10000}-\u{1fffd}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}"
        r"\u{40000}-\u{4fffd}\u{50000}-\u{5fffd}\u{60000}-\u{6fffd}\u{70000}-\u{7fffd}\u{80000}-\u{8fffd}"
        r"\u{90000}-\u{9fffd}\u{a0000}-\u{afffd}\u{b0000}-\u{bfffd}\u{c0000}-\u{cfffd}\u{d0000}-\u{dfffd}"
        r"\u{e1000}-\u{efffd}")
_PRIVATE = r"\ue000-\uf8ff\u{f0000}-\u{ffffd}\u{100000}-\u{10fffd}"


def _uri_grammar(iri: bool) -> dict[str, str]:
    ucs = _UCS if iri else ""
    priv = _PRIVATE if iri else ""
    pct = f"%{_HEX}{_HEX}"
    unreserved = f"[A-Za-z0-9._~{ucs}-]"
    sub = "[!$&'()*+,;=]"
    pchar = f"(?:{unreserved}|{pct}|{sub}|[:@])"
    scheme = "[A-Za-z][A-Za-z0-9+.-]*"
    userinfo = f"(?:{unreserved}|{pct}|{sub}|:)*"
    ipfuture = f"[vV]{_HEX}+\\.(?:[A-Za-z0-9._~-]|{sub}|:)+"
    host = f"(?:\\[(?:{_IPV6}|{ipfuture})\\]|(?:{unreserved}|{pct}|{sub})*)"
    authority = f"(?:{userinfo}@)?{host}(?::[0-9]*)?"
    segment = f"{pchar}*"
    segment_nz = f"{pchar}+"
    segment_nz_nc = f"(?:{unreserved}|{pct}|{sub}|@)+"
    path_abempty = f"(?:/{segment})*"
    path_absolute = f"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = f"{segment_nz}(?:/{segment})*"
    path_noscheme = f"{segment_nz_nc}(?:/{segment})*"
    query = f"(?:{pchar}|[/?{priv}])*"
    fragment = f"(?:{pchar}|[/?])*"
    hier = f"(?://{authority}{path_abempty}|{path_absolute}|{path_rootless}|)"
    rel = f"(?://{authority}{path_abempty}|{path_absolute}|{path_noscheme}|)"
    uri = f"{scheme}:{hier}(?:\\?{query})?(?:#{fragment})?"
    rel_ref = f"{rel}(?:\\?{query})?(?:#{fragment})?"
    return {"uri": uri, "reference": f"(?:{uri}|{rel_ref})"}


_URI = _uri_grammar(False)
_IRI = _uri_grammar(True)

_TEMPLATE_LITERAL = f"(?:[!#$&'(-;=?-\\[\\]_a-z~{_UCS}{_PRIVATE}]|%{_HEX}{_HEX})"
_VARCHAR = f"(?:[A-Za-z0-9_]|%{_HEX}{_HEX})"
_VARSPEC = f"{_VARCHAR}(?:\\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\\*)?"
_URI_TEMPLATE = f"(?:{_TEMPLATE_LITERAL}|\\{{[+#./;?&=,!@|]?{_VARSPEC}(?:,{_VARSPEC})*\\}})*"

_JSON_POINTER = "(?:/(?:[^~/]|~[01])*)*"

FORMATS: dict[str, str] = {
    "date": _DATE,
    "time": _TIME,
    "date-time": _DATE_TIME,
    "duration": _DURATION,
    "email": _EMAIL,
    "hostname": _hostname(),
    "ipv4": _IPV4,
    "ipv6": _IPV6,
    "uuid": f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}",
    "uri": _URI["uri"],
    "uri-reference": _URI["reference"],
    "iri": _IRI["uri"],
    "iri-reference": _IRI["reference"],
    "uri-template": _URI_TEMPLATE,
    "json-pointer": _JSON_POINTER,
    "relative-json-pointer": f"(?:0|[1-9][0-9]*)(?:#|{_JSON_POINTER})",
}


def _regex_syntax(depth: int) -> str:
    """ECMA pattern for the ``regex`` format's restricted syntax (see the module docstring), ``depth`` nested
    groups at most: every string it matches compiles both as ECMA-262 and as Python ``re`` (``validate``)."""
    lit = r"[^\\^$.|?*+()\[\]{}]"
    esc = r"\\[dDwWsSnrtfv.\\/^$|?*+()\[\]{}\-]"
    # ranges X-Y with X <= Y inside digits, lower or upper case letters (each X paired with a class of Ys)
    ranges = "|".join(f"{c}-[{c}-{end}]" for first, end in (("0", "9"), ("a", "z"), ("A", "Z"))
                      for c in map(chr, range(ord(first), ord(end) + 1)))
    items = rf"(?:{ranges}|[^\\\]\[^\-]|\\[dDwWsSnrtfv\\\]\[^\-/.])+"
    klass = rf"\[\^?(?:-{items}-?|-|{items}-?)\]"  # a literal "-" only first or last
    # {n,m} needs n <= m (Python and ECMA reject {3,2}): counts below 100 without leading zeros, compared
    # digit by digit
    bounded = [f"{n},[{n}-9]" for n in range(10)] + ["[0-9],[1-9][0-9]"]
    for a in range(1, 10):
        for b in range(10):
            higher = f"|[{a + 1}-9][0-9]" if a < 9 else ""
            bounded.append(f"{a}{b},(?:{a}[{b}-9]{higher})")
    count = "(?:0|[1-9][0-9]{0,2})"
    quant = rf"(?:[*+?]|\{{{count},?\}}|\{{(?:{'|'.join(bounded)})\}})\??"
    anchor = r"(?:[$^]|\\[bB])"
    inner = ""
    for _ in range(depth + 1):
        group = rf"|\((?:\?:)?{inner}\)" if inner else ""
        piece = rf"(?:(?:{lit}|{esc}|\.|{klass}{group})(?:{quant})?|{anchor})"
        inner = rf"(?:{piece}*(?:\|{piece}*)*)"
    return inner


# Restricted languages: smaller than the format, built for generation only (``validate`` keeps jsonschema's
# checker for them).
RESTRICTED: dict[str, str] = {"regex": _regex_syntax(3)}

# Formats defined by the specification whose exact languages we do not build (see the module docstring).
IGNORED_KNOWN = frozenset({"idn-email", "idn-hostname"})


@lru_cache(maxsize=None)
def _format_lang(name: str) -> Lang:
    return string_lang(parse_ecma(FORMATS.get(name) or RESTRICTED[name], f"format {name}"))


def format_lang(name: str, *, strict: bool = False, lenient: bool = False, path: str = "") -> Lang | None:
    """The language of ``format: name``, or None when the format is not enforced (see the policy above).

    A format the specification defines but we do not build (IGNORED_KNOWN) raises UnsupportedFeatureError
    unless ``lenient``: ``validate`` (jsonschema's checkers) asserts it, so ignoring it silently would let the
    grammar accept instances the validator rejects (e.g. ``"*"`` for ``regex``).
    """
    if name in FORMATS or name in RESTRICTED:
        return _format_lang(name)
    if name in IGNORED_KNOWN and not lenient:
        raise UnsupportedFeatureError("format", f"format {name!r} is not expressible as a regular language; "
                                      "lenient=True ignores it (an over-approximation)", path=path)
    if strict:
        what = "not expressible as a regular language" if name in IGNORED_KNOWN else "unknown"
        raise UnsupportedFeatureError("format", f"format {name!r} is {what}; strict mode does not ignore "
                                      "formats", path=path)
    return None


@lru_cache(maxsize=None)
def format_regex(name: str) -> re.Pattern:
    """A compiled Python regex (full match) for ``validate``'s format checker."""
    from ._regex_ecma import to_python_regex

    return re.compile(to_python_regex("^(?:" + FORMATS[name] + ")$"))
