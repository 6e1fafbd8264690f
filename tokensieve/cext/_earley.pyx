# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The closure of an Earley set (predict and complete to a fixed point): the parser's inner loop.

Twin: ``tokensieve/automata/_earley_py.py`` (same names and semantics; its docstring has the protocol). Items
are ``(dotted rule, origin)``; the set's membership test is an open-addressing table of packed 64-bit keys
instead of a Python set of tuples, and predictions come from flat arrays. Python objects are touched only to
build the ``waiting`` lists the result is made of and to read earlier sets' lists when completing. Measured
over the masks of 100 MaskBench files (cl100k, 33k sets): 0.68 s with the twin, 0.38 s with this kernel.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc

import numpy as np

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


def close(Prepared p, seeds, int64_t k, list rows):
    """The Earley set at position ``k`` grown from ``seeds``: ``(waiting, n_items, accepting)`` or None when it
    would hold more than ``max_items`` items."""
    cdef ItemSet s
    cdef Py_ssize_t i = 0, j
    cdef uint64_t it
    cdef int64_t dr, org, sym, pdr, porg
    cdef dict waiting = {}
    cdef object lst, entry
    s.cap = 256
    s.icap = 128
    s.n = 0
    s.keys = <uint64_t *> calloc(s.cap, sizeof(uint64_t))
    s.items = <uint64_t *> malloc(s.icap * sizeof(uint64_t))
    if s.keys == NULL or s.items == NULL:
        free(s.keys)
        free(s.items)
        raise MemoryError()
    try:
        for entry in seeds:
            _add(&s, _pack(entry[0], entry[1]))
        while i < s.n:
            it = s.items[i]
            i += 1
            dr = <int64_t> (it >> 32)
            org = <int64_t> (it & 0xFFFFFFFFULL)
            sym = p.next_sym[dr]
            if sym == C_COMPLETE:
                if org == k:
                    continue  # empty derivation inside this set: covered by the nullable advance below
                lst = rows[org].waiting.get(p.lhs[dr])
                if lst is not None:
                    for entry in lst:
                        pdr = entry[0]
                        porg = entry[1]
                        _add(&s, _pack(pdr + 1, porg))
                continue
            entry = (dr, org)
            lst = waiting.get(sym)
            if lst is None:
                waiting[sym] = [entry]
            else:
                lst.append(entry)
            if sym >= 0:
                for j in range(p.pred_start[sym], p.pred_start[sym + 1]):
                    _add(&s, _pack(p.pred_rules[j], k))
                if p.nullable[sym]:
                    _add(&s, _pack(dr + 1, org))
            if s.n > p.max_items:
                return None
        return waiting, s.n, _has(&s, _pack(p.accept_dr, 0))
    finally:
        free(s.keys)
        free(s.items)
