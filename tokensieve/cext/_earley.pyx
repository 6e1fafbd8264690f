# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The closure of an Earley set (predict and complete to a fixed point): the parser's inner loop.

Twin: ``tokensieve/automata/_earley_py.py`` (same names and semantics; its docstring has the protocol). Items
are packed ``dr << 32 | origin``; the set's membership test is an open-addressing table instead of a Python
set, predictions come from flat arrays, and the result's ``waiting`` lists are one ``bytes`` of native uint64
per symbol built from C buffers. Python objects are touched to look up earlier sets' lists when completing.
Measured over the masks of 100 MaskBench files (cl100k, 33k sets): 0.68 s with the twin (tuples then), 0.45 s
with a tuple per item built here, 0.31 s with packed ``array('Q')`` lists. ``bytes`` instead of arrays: the
collector does not track them (nor a dict holding only them), so the rows a grammar keeps (84k objects after
Github_ultra/o12344's masks) stopped lengthening every full collection (78 -> 62 ms there).
"""

from cpython cimport array
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc

import array as _array

import numpy as np

cdef array.array _Q = _array.array("Q")

COMPLETE = 1 << 60
cdef int64_t C_COMPLETE = 1 << 60


cdef class Prepared:
    """The tables' arrays, as ``close`` reads them."""
    cdef object _keep
    cdef const int64_t *next_sym
    cdef const int32_t *lhs
    cdef const int32_t *pred_start
    cdef const int32_t *pred_rules
    cdef const uint8_t *nullable
    cdef int64_t accept_dr
    cdef Py_ssize_t max_items


def prepare(tables):
    """Flat copies of ``tables``' ``next_sym``, ``lhs``, ``predict`` and ``nullable``."""
    cdef Prepared p = Prepared()
    cdef const int64_t[::1] ns = np.ascontiguousarray(tables.next_sym, dtype=np.int64)
    cdef const int32_t[::1] lh = np.ascontiguousarray(tables.lhs, dtype=np.int32)
    starts, flat = [0], []
    for lst in tables.predict:
        flat.extend(lst)
        starts.append(len(flat))
    flat.append(0)  # never read: keeps the array non-empty
    cdef const int32_t[::1] ps = np.asarray(starts, dtype=np.int32)
    cdef const int32_t[::1] pr = np.asarray(flat, dtype=np.int32)
    cdef const uint8_t[::1] nl = np.asarray(list(tables.nullable) + [0], dtype=np.uint8)
    p._keep = (ns, lh, ps, pr, nl)
    p.next_sym = &ns[0]
    p.lhs = &lh[0]
    p.pred_start = &ps[0]
    p.pred_rules = &pr[0]
    p.nullable = &nl[0]
    p.accept_dr = tables.accept_dr
    p.max_items = tables.max_items
    return p


cdef inline const uint64_t *_items(object b, Py_ssize_t *n) except NULL:
    """The packed items of one ``waiting`` list (``bytes`` of native uint64)."""
    if type(b) is not bytes:
        raise TypeError(f"waiting lists must be bytes, got {type(b).__name__}")
    n[0] = PyBytes_GET_SIZE(b) // 8
    return <const uint64_t *> PyBytes_AS_STRING(b)


def scan_seeds(dict waiting, terminal_mask):
    """The items advanced over a lexeme of the terminals in ``terminal_mask`` (a bitmask), from a set's
    ``waiting``: in the set's symbol order."""
    cdef array.array seeds = array.clone(_Q, 0, False)
    cdef const uint64_t *src
    cdef Py_ssize_t j, n, m
    cdef long long sym
    for key, items in waiting.items():
        sym = key
        if sym < 0 and (terminal_mask >> (-1 - key)) & 1:
            src = _items(items, &m)
            n = len(seeds)
            array.resize_smart(seeds, n + m)
            for j in range(m):
                seeds.data.as_ulonglongs[n + j] = src[j] + (1ULL << 32)
    return seeds


cdef struct ItemSet:
    uint64_t *keys  # open addressing; 0 = empty, else item + 1
    Py_ssize_t cap
    uint64_t *items  # insertion order
    Py_ssize_t n, icap


cdef inline uint64_t _pack(int64_t dr, int64_t org) noexcept nogil:
    return ((<uint64_t> dr) << 32) | (<uint64_t> org & 0xFFFFFFFFULL)


cdef int _add(ItemSet *s, uint64_t item) except -1:
    """Append ``item`` unless present."""
    cdef uint64_t key = item + 1
    cdef uint64_t h
    cdef Py_ssize_t j, mask, k, old_cap
    cdef uint64_t *old
    cdef uint64_t *grown
    if 2 * (s.n + 1) > s.cap:
        old, old_cap = s.keys, s.cap
        s.keys = <uint64_t *> calloc(old_cap * 2, sizeof(uint64_t))
        if s.keys == NULL:
            s.keys = old
            raise MemoryError()
        s.cap = old_cap * 2
        mask = s.cap - 1
        for k in range(old_cap):
            if old[k]:
                j = <Py_ssize_t> ((old[k] * 0x9E3779B97F4A7C15ULL) >> 40) & mask
                while s.keys[j]:
                    j = (j + 1) & mask
                s.keys[j] = old[k]
        free(old)
    mask = s.cap - 1
    j = <Py_ssize_t> ((key * 0x9E3779B97F4A7C15ULL) >> 40) & mask
    while s.keys[j]:
        if s.keys[j] == key:
            return 0
        j = (j + 1) & mask
    s.keys[j] = key
    if s.n == s.icap:
        grown = <uint64_t *> realloc(s.items, s.icap * 2 * sizeof(uint64_t))
        if grown == NULL:
            raise MemoryError()
        s.items, s.icap = grown, s.icap * 2
    s.items[s.n] = item
    s.n += 1
    return 0


cdef bint _has(ItemSet *s, uint64_t item) noexcept:
    cdef uint64_t key = item + 1
    cdef Py_ssize_t mask = s.cap - 1
    cdef Py_ssize_t j = <Py_ssize_t> ((key * 0x9E3779B97F4A7C15ULL) >> 40) & mask
    while s.keys[j]:
        if s.keys[j] == key:
            return True
        j = (j + 1) & mask
    return False


cdef struct Pairs:
    int64_t *sym
    uint64_t *item
    Py_ssize_t n, cap


cdef int _pair(Pairs *w, int64_t sym, uint64_t item) except -1:
    cdef void *q
    if w.n == w.cap:
        q = realloc(w.sym, (w.cap * 2 + 64) * sizeof(int64_t))
        if q == NULL:
            raise MemoryError()
        w.sym = <int64_t *> q
        q = realloc(w.item, (w.cap * 2 + 64) * sizeof(uint64_t))
        if q == NULL:
            raise MemoryError()
        w.item = <uint64_t *> q
        w.cap = w.cap * 2 + 64
    w.sym[w.n] = sym
    w.item[w.n] = item
    w.n += 1
    return 0


cdef tuple _waiting(Pairs *w):
    """``({sym: bytes of its packed items}, allowed)``: symbols in first-appearance order, grouped in C (one
    ``bytes`` per symbol instead of a tuple per item); ``allowed`` the bitmask of the terminals waited for."""
    cdef Py_ssize_t cap = 16, i, g, n_groups = 0, j
    cdef uint64_t key, mask
    cdef uint64_t *keys
    cdef Py_ssize_t *slot_group
    cdef Py_ssize_t *group_of
    cdef Py_ssize_t *counts
    cdef Py_ssize_t *offs
    cdef uint64_t *flat
    cdef int64_t *group_sym
    while cap < 2 * w.n + 2:
        cap *= 2
    mask = cap - 1
    keys = <uint64_t *> calloc(cap, sizeof(uint64_t))
    slot_group = <Py_ssize_t *> malloc(cap * sizeof(Py_ssize_t))
    group_of = <Py_ssize_t *> malloc((w.n + 1) * sizeof(Py_ssize_t))
    counts = <Py_ssize_t *> calloc(w.n + 1, sizeof(Py_ssize_t))
    offs = <Py_ssize_t *> malloc((w.n + 1) * sizeof(Py_ssize_t))
    flat = <uint64_t *> malloc((w.n + 1) * sizeof(uint64_t))
    group_sym = <int64_t *> malloc((w.n + 1) * sizeof(int64_t))
    try:
        if (keys == NULL or slot_group == NULL or group_of == NULL or counts == NULL or offs == NULL
                or flat == NULL or group_sym == NULL):
            raise MemoryError()
        for i in range(w.n):
            key = <uint64_t> (w.sym[i] + (1LL << 40))  # never 0: symbols are above -2**31
            j = <Py_ssize_t> ((key * 0x9E3779B97F4A7C15ULL) >> 40) & mask
            while keys[j] and keys[j] != key:
                j = (j + 1) & mask
            if not keys[j]:
                keys[j] = key
                slot_group[j] = n_groups
                group_sym[n_groups] = w.sym[i]
                n_groups += 1
            g = slot_group[j]
            group_of[i] = g
            counts[g] += 1
        offs[0] = 0
        for g in range(n_groups - 1):
            offs[g + 1] = offs[g] + counts[g]
        for g in range(n_groups):
            counts[g] = 0
        for i in range(w.n):
            g = group_of[i]
            flat[offs[g] + counts[g]] = w.item[i]
            counts[g] += 1
        waiting = {}
        bits = 0
        for g in range(n_groups):
            waiting[group_sym[g]] = PyBytes_FromStringAndSize(<const char *> &flat[offs[g]],
                                                              counts[g] * sizeof(uint64_t))
            if group_sym[g] < 0:  # a Python shift: grammars have far more than 64 terminals
                bits |= (<object> 1) << <object> (-1 - group_sym[g])
        return waiting, bits
    finally:
        free(keys)
        free(slot_group)
        free(group_of)
        free(counts)
        free(offs)
        free(flat)
        free(group_sym)


def close(Prepared p, seeds, int64_t k, list rows):
    """The Earley set at position ``k`` grown from the packed ``seeds``: ``(waiting, n_items, accepting,
    allowed)`` or None when it would hold more than ``max_items`` items."""
    cdef ItemSet s
    cdef Pairs w
    cdef Py_ssize_t i = 0, j, n_rows = len(rows)
    cdef uint64_t it
    cdef int64_t dr, org, sym
    cdef array.array arr
    cdef const uint64_t *src
    cdef Py_ssize_t m
    s.cap = 256
    s.icap = 128
    s.n = 0
    s.keys = <uint64_t *> calloc(s.cap, sizeof(uint64_t))
    s.items = <uint64_t *> malloc(s.icap * sizeof(uint64_t))
    w.sym = NULL
    w.item = NULL
    w.n = w.cap = 0
    if s.keys == NULL or s.items == NULL:
        free(s.keys)
        free(s.items)
        raise MemoryError()
    try:
        if isinstance(seeds, array.array) and (<array.array> seeds).ob_descr.typecode == c"Q":
            arr = <array.array> seeds
            for j in range(len(arr)):
                _add(&s, arr.data.as_ulonglongs[j])
        else:
            for seed in seeds:
                _add(&s, <uint64_t> seed)
        while i < s.n:
            it = s.items[i]
            i += 1
            dr = <int64_t> (it >> 32)
            org = <int64_t> (it & 0xFFFFFFFFULL)
            sym = p.next_sym[dr]
            if sym == C_COMPLETE:
                if org == k:
                    continue  # empty derivation inside this set: covered by the nullable advance below
                if org >= n_rows:
                    raise IndexError(f"item origin {org} beyond the {n_rows} earlier sets")
                lst = rows[org].waiting.get(p.lhs[dr])
                if lst is not None:
                    src = _items(lst, &m)
                    for j in range(m):
                        _add(&s, src[j] + (1ULL << 32))
                continue
            _pair(&w, sym, it)
            if sym >= 0:
                for j in range(p.pred_start[sym], p.pred_start[sym + 1]):
                    _add(&s, _pack(p.pred_rules[j], k))
                if p.nullable[sym]:
                    _add(&s, it + (1ULL << 32))
            if s.n > p.max_items:
                return None
        waiting, allowed = _waiting(&w)
        return waiting, s.n, _has(&s, _pack(p.accept_dr, 0)), allowed
    finally:
        free(s.keys)
        free(s.items)
        free(w.sym)
        free(w.item)
