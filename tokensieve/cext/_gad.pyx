# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The grammar-aligned sampler's trie (ASAp/CARS bookkeeping). Twin: ``tokensieve/sampling/_gad_py.py`` (same
names, semantics and protocol, documented there; results agree bit for bit).

The sampler makes one call here per drawn token (``advance``) and one per attempt (``commit``), between long
stretches of mask and model work that evict the caches, so a call costs its Python entry plus the cache lines it
touches. Hence the layout: a node keeps its children in one C array of (token, log c, c, node), inline for the
first two -- reweighting reads that array only, finding a child scans it (or binary-searches past ``_SCAN``
children) -- and the attempt's path is one C array of records; ``kids`` and ``arr`` are built on request, for
introspection. Measured on this machine (2-vCPU EPYC VM shared with other jobs; SmolLM2 vocabulary;
``python -m jsonschemabench.gad_kl --overhead --samples 300``): an ``advance`` window costs ~0.2 us with warm
caches and 0.5-1.5 us as the sampler sees it (the mask work in between flushes the caches), ``commit`` 0.1-0.25 us
per path record; 0.6-2.3 us of bookkeeping per token against 9-35 us of engine mask (bookkeeping/mask 0.04-0.08;
the pure-Python bookkeeping it replaced: 2.4-9 us, 0.21-0.36).
"""

cimport cython
from cpython.object cimport Py_TYPE, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject

cdef extern from "Python.h":
    Py_ssize_t Py_REFCNT(PyObject *o)
from libc.math cimport INFINITY, exp, log, log1p
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

import numpy as np

__all__ = ["Node", "KidArrays", "Trie", "UNEXPLORED", "END", "REJECT", "NEED_LOG", "FRESH", "KIDS", "BARE",
           "ARRAY_KIDS", "TINY"]

cdef enum:
    C_END = 0
    C_REJECT = 1
    C_NEED_LOG = 2
    C_FRESH = 3
    C_KIDS = 4
    C_BARE = 5
    C_ARRAY_KIDS = 8
    _SCAN = 8  # up to this many children a lookup scans; beyond, it binary-searches the token order
    _INLINE = 2

cdef double C_TINY = 1e-250

END, REJECT, NEED_LOG, FRESH, KIDS, BARE = C_END, C_REJECT, C_NEED_LOG, C_FRESH, C_KIDS, C_BARE
ARRAY_KIDS = C_ARRAY_KIDS
TINY = C_TINY


cdef struct Kid:
    int64_t tok
    double logc  # the child's estimate, mirrored here by commit so reweighting never touches the child
    double c
    PyObject *node  # owned reference


cdef struct Record:
    PyObject *node  # owned: the node the token was drawn at
    PyObject *ref  # owned: what the update reads as c(uk); NULL when the attempt ended at k
    double seen  # the log c(uk) the draw used
    double rest  # log weight of the other viable tokens
    double logp  # log P(k|u)
    int64_t k
    Py_ssize_t slot  # k's place in node's children, -1 when not stored
    bint was_expanded


class KidArrays:
    """A snapshot of a node's children as (token, log c, c) arrays, in insertion order (the twin keeps live
    arrays; this one is built on request)."""

    def __init__(self, tok, logc, c, slot):
        self.tok, self.logc, self.c, self.slot = tok, logc, c, slot
        self.n = len(slot)


@cython.final
cdef class Node:
    """A visited or sampled prefix: ``logc`` = log c(u), ``c`` = exp(logc), ``expanded``; ``kids`` (token ->
    Node, or None) and ``arr`` (the children as arrays once a reweighting saw many, or None) are built on
    request."""

    cdef public double logc
    cdef public double c
    cdef public bint expanded
    cdef Kid *kid  # points at ``inline`` until more than _INLINE children
    cdef Py_ssize_t nk, capk
    cdef Py_ssize_t *order  # child slots sorted by token, kept once there are more than _SCAN
    cdef bint arrays  # the twin would hold ``arr`` now
    cdef Kid inline[_INLINE]  # most nodes have one or two children: no allocation, no extra cache line

    def __cinit__(self):
        self.logc = 0.0
        self.c = 1.0

    def __dealloc__(self):
        self._drop_kids()

    cdef void _drop_kids(self):
        """Release the children. A child that dies with it gives up its own children first, onto an explicit
        stack, so freeing a deep trie never recurses."""
        cdef PyObject **stack = NULL
        cdef Py_ssize_t top = 0, cap = 0
        cdef PyObject *x
        stack = _take_kids(self, stack, &top, &cap)
        while top:
            top -= 1
            x = stack[top]
            if Py_REFCNT(x) == 1:  # this reference is the last one
                stack = _take_kids(<Node> x, stack, &top, &cap)
            Py_DECREF(<object> x)
        free(stack)

    @property
    def kids(self):
        if not self.nk:
            return None
        return {self.kid[i].tok: <object> self.kid[i].node for i in range(self.nk)}

    @property
    def arr(self):
        if not self.arrays:
            return None
        n = self.nk
        tok, logc, c = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
        for i in range(n):
            tok[i], logc[i], c[i] = self.kid[i].tok, self.kid[i].logc, self.kid[i].c
        return KidArrays(tok, logc, c, {self.kid[i].tok: i for i in range(n)})

    cdef inline Py_ssize_t _find(self, int64_t t):
        """The slot of child ``t``, or -1."""
        cdef Py_ssize_t i, lo
        if self.nk <= _SCAN:
            for i in range(self.nk):
                if self.kid[i].tok == t:
                    return i
            return -1
        lo = self._lower(t, self.nk)
        if lo < self.nk and self.kid[self.order[lo]].tok == t:
            return self.order[lo]
        return -1

    cdef inline Py_ssize_t _lower(self, int64_t t, Py_ssize_t n) noexcept:
        """First position in ``order[:n]`` whose child token is not below ``t``."""
        cdef Py_ssize_t lo = 0, hi = n, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.kid[self.order[mid]].tok < t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef Py_ssize_t _add(self, int64_t t, Node child) except -1:
        """Store ``child`` under token ``t`` (not yet a child); returns its slot."""
        cdef Py_ssize_t cap, i, lo, s = self.nk
        cdef void *p
        if s == self.capk:
            if not self.capk:
                self.kid = &self.inline[0]
                self.capk = _INLINE
            else:
                cap = 2 * self.capk
                if self.kid == &self.inline[0]:
                    p = malloc(cap * sizeof(Kid))
                    if p != NULL:
                        memcpy(p, self.kid, s * sizeof(Kid))
                else:
                    p = realloc(self.kid, cap * sizeof(Kid))
                if p == NULL:
                    raise MemoryError()
                self.kid = <Kid *> p
                self.capk = cap
            if self.order != NULL:
                p = realloc(self.order, self.capk * sizeof(Py_ssize_t))
                if p == NULL:
                    raise MemoryError()
                self.order = <Py_ssize_t *> p
        if s >= _SCAN and self.order == NULL:
            self.order = <Py_ssize_t *> malloc(self.capk * sizeof(Py_ssize_t))
            if self.order == NULL:
                raise MemoryError()
        self.kid[s].tok = t
        self.kid[s].logc = 0.0
        self.kid[s].c = 1.0
        Py_INCREF(child)
        self.kid[s].node = <PyObject *> child
        self.nk = s + 1
        if s == _SCAN:  # crossing to binary search: order every child so far (insertion sort, once)
            for i in range(s + 1):
                lo = i
                while lo > 0 and self.kid[self.order[lo - 1]].tok > self.kid[i].tok:
                    self.order[lo] = self.order[lo - 1]
                    lo -= 1
                self.order[lo] = i
        elif s > _SCAN:
            lo = self._lower(t, s)
            memmove(&self.order[lo + 1], &self.order[lo], (s - lo) * sizeof(Py_ssize_t))
            self.order[lo] = s
        return s


cdef PyObject **_take_kids(Node node, PyObject **stack, Py_ssize_t *top, Py_ssize_t *cap) noexcept:
    """Move ``node``'s child references onto ``stack`` (grown as needed) and empty its child arrays. Without
    memory for the stack, the references are released at once (recursing, as plain refcounting would)."""
    cdef Py_ssize_t i, n = node.nk
    cdef Kid *kid = node.kid
    cdef PyObject **grown
    cdef Py_ssize_t want
    node.kid = NULL
    node.nk = node.capk = 0
    node.arrays = False
    free(node.order)
    node.order = NULL
    if top[0] + n > cap[0]:
        want = max(2 * cap[0], top[0] + n, 64)
        grown = <PyObject **> realloc(stack, want * sizeof(PyObject *))
        if grown != NULL:
            stack, cap[0] = grown, want
    for i in range(n):
        if top[0] < cap[0]:
            stack[top[0]] = kid[i].node
            top[0] += 1
        else:
            Py_DECREF(<object> kid[i].node)
    if kid != &node.inline[0]:
        free(kid)
    return stack


cdef Node _UNEXPLORED = Node()  # a child the full trie could not store (c = 1); never written
UNEXPLORED = _UNEXPLORED


cdef Py_ssize_t _count_below(Node node) except -1:
    """Nodes in the subtrees below ``node`` (explicit stack)."""
    cdef Py_ssize_t n = 0, i
    cdef list stack = [node]
    cdef Node x
    while stack:
        x = stack.pop()
        for i in range(x.nk):
            n += 1
            if (<Node> x.kid[i].node).nk:
                stack.append(<object> x.kid[i].node)
    return n


cdef inline int _state(Node node):
    # never expanded comes first: an attempt that failed before its commit can leave children under such a node
    if not node.expanded:
        return C_FRESH
    return C_KIDS if node.nk else C_BARE


# Reading one item of a fresh numpy array through Python (a float64 scalar per read) or the buffer protocol (numpy
# builds and caches format/shape info on the first request) costs 0.05-0.2 us, as much as the rest of a step. The
# draw's arrays are read instead through the leading fields of numpy's array struct, the layout numpy's own C-API
# macros (PyArray_DATA, PyArray_NDIM, ...) compile against. The layout is checked once at import; exact ndarrays of
# the builtin float64/int64 dtypes take the direct path, anything else (or a failed check) the generic one.
cdef extern from *:
    """
    typedef struct {
        PyObject_HEAD
        char *data;
        int nd;
        Py_ssize_t *dimensions;
        Py_ssize_t *strides;
        PyObject *base;
        PyObject *descr;
    } __pyx_ts_ndarray;
    """
    ctypedef struct _ndarray "__pyx_ts_ndarray":
        char *data
        int nd
        Py_ssize_t *dimensions
        Py_ssize_t *strides
        PyObject *descr

cdef object _F64_DTYPE = np.dtype(np.float64), _I64_DTYPE = np.dtype(np.int64)
cdef PyTypeObject *_NDARRAY = <PyTypeObject *> np.ndarray
cdef PyObject *_F64 = <PyObject *> _F64_DTYPE
cdef PyObject *_I64 = <PyObject *> _I64_DTYPE


cdef bint _layout_ok():
    cdef _ndarray *p
    for a in (np.arange(5.0)[::2], np.arange(5, dtype=np.int64)[::2], np.arange(3.0)):
        p = <_ndarray *> <PyObject *> a
        if not (Py_TYPE(a) == _NDARRAY and p.nd == 1 and p.dimensions[0] == 3 and p.strides[0] == a.strides[0]
                and <size_t> p.data == <size_t> a.__array_interface__["data"][0] and p.descr == <PyObject *> a.dtype):
            return False
    return True


cdef bint _DIRECT = _layout_ok()
DIRECT_READS = _DIRECT  # for tests and diagnostics


cdef inline _ndarray *_vec(object a, PyObject *descr):
    """``a`` as a numpy struct when it is an exact 1-D ndarray of ``descr``, else NULL."""
    cdef _ndarray *p = <_ndarray *> <PyObject *> a
    if _DIRECT and Py_TYPE(a) == _NDARRAY and p.descr == descr and p.nd == 1:
        return p
    return NULL


cdef inline double _f64_at(object a, Py_ssize_t i) except? -1.0:
    """``a[i]`` for a float64 vector (0 <= i checked by the caller)."""
    cdef _ndarray *p = _vec(a, _F64)
    if p != NULL and i < p.dimensions[0]:
        return (<double *> (p.data + i * p.strides[0]))[0]
    return <double> a[i]  # generic path; raises IndexError when out of range


cdef double _seq_sum(object a, Py_ssize_t lo) except? -1.0:
    """Left-to-right sum of ``a[lo:]`` (float64 vector)."""
    cdef const double[:] v = np.asarray(a, dtype=np.float64)
    cdef double s = 0.0
    cdef Py_ssize_t i
    for i in range(lo, v.shape[0]):
        s += v[i]
    return s


@cython.final
cdef class Trie:
    """The persistent trie of one sampler and the cursor of the attempt in progress (see the twin)."""

    cdef public Node root, cur
    cdef public Py_ssize_t nodes, max_nodes
    cdef public bint frozen, committing
    cdef public object e, eos
    cdef public double prev_mx, prev_log_s
    cdef double[::1] ev  # keeps the buffer acquired for ep
    cdef double *ep
    cdef Py_ssize_t V
    cdef int64_t eos_ids[8]
    cdef int n_eos  # -1: too many EOS ids for the array, ask the set
    cdef Record *path
    cdef Py_ssize_t plen, pcap

    def __init__(self, e, eos, Py_ssize_t max_nodes):
        self.e = e
        self.ev = e
        self.V = self.ev.shape[0]
        self.ep = &self.ev[0] if self.V else NULL
        self.eos = frozenset(int(t) for t in eos)
        self.n_eos = len(self.eos) if len(self.eos) <= 8 else -1
        for i, t in enumerate(sorted(self.eos)[:8]):
            self.eos_ids[i] = t
        self.max_nodes = max_nodes
        self.root = Node()
        self.nodes = 1
        self.frozen = False
        self.cur = self.root
        self.committing = False

    def __dealloc__(self):
        self._clear_path()
        free(self.path)

    cdef void _clear_path(self):
        cdef Py_ssize_t i
        cdef Py_ssize_t n = self.plen
        self.plen = 0
        for i in range(n):
            Py_DECREF(<object> self.path[i].node)
            if self.path[i].ref != NULL:
                Py_DECREF(<object> self.path[i].ref)

    cdef inline bint _is_eos(self, int64_t k):
        cdef int i
        if self.n_eos < 0:
            return k in self.eos
        for i in range(self.n_eos):
            if self.eos_ids[i] == k:
                return True
        return False

    def begin(self, bint commit):
        """Start an attempt at the root; ``commit``: new children may be stored. Returns the root's state."""
        return self._begin(commit)

    cdef int _begin(self, bint commit):
        self.cur = self.root
        self.committing = commit
        self._clear_path()
        return _state(self.root)

    def reweight(self):
        """Multiply ``e`` at the cursor's stored children by their estimates."""
        if self.cur is None:
            raise RuntimeError("no attempt in progress (call begin)")
        self._reweight()

    cdef inline void _reweight(self):
        cdef Node node = self.cur
        cdef Py_ssize_t i
        cdef double *ev = self.ep
        cdef Kid *kid = node.kid
        if node.nk >= C_ARRAY_KIDS:
            node.arrays = True
        for i in range(node.nk):
            if kid[i].c != 1.0:
                ev[kid[i].tok] *= kid[i].c

    cdef int _record(self, Py_ssize_t j, Py_ssize_t k, object wa, object cw, double tot, object lg) except -1:
        """The masked draw of ``k = idx[j]`` with weights ``wa``, running sums ``cw``, total ``tot``, logits
        ``lg``."""
        cdef _ndarray *p = _vec(cw, _F64)
        cdef Py_ssize_t n = p.dimensions[0] if p != NULL else len(cw)
        cdef double cj, wj, rest, head, tail, log_rest, log_s = self.prev_log_s
        if not (0 <= j < n and 0 <= k < self.V):
            raise IndexError(f"draw index {j} of {n} / token {k} out of range")
        # the drawn weight from the running sums (see the twin's rest_weight): wa is read only in the rare case
        head = _f64_at(cw, j - 1) if j else 0.0
        cj = _f64_at(cw, j)
        wj = cj - head
        if wj <= 0.5 * tot:
            rest = tot - wj
        else:  # subtracting a dominant weight cancels: add up the others instead
            tail = 0.0
            if j + 1 < n:
                tail = tot - cj
                if tail < 1e-6 * tot:  # too much cancelled: sum directly
                    tail = _seq_sum(wa, j + 1)
            rest = head + tail
        if rest >= C_TINY:
            log_rest = log(rest) - log_s
        elif n == 1:
            log_rest = -INFINITY
        else:
            return C_NEED_LOG
        return self._push(k, True, log_rest, _f64_at(lg, k) - self.prev_mx - log_s)

    def advance(self, Py_ssize_t j, Py_ssize_t k, wa, cw, double tot, plg, double mx, double log_s):
        """Record the previous step's masked draw ``(j, k, wa, cw, tot)`` with logits ``plg`` (``j = -1``: none),
        keep this step's ``mx`` and ``log_s`` for the next record and reweight ``e`` at the cursor's children (see
        the twin). Returns the cursor's state, or ``NEED_LOG`` with nothing done."""
        cdef Node cur = self.cur
        if cur is None:
            raise RuntimeError("no attempt in progress (call begin)")
        if j >= 0 and self._record(j, k, wa, cw, tot, plg) == C_NEED_LOG:
            return C_NEED_LOG
        self.prev_mx = mx
        self.prev_log_s = log_s
        self._reweight()
        return _state(self.cur)

    def step_first(self, Py_ssize_t k, idx, lg, double mx, double log_s):
        """Record CARS's unmasked draw of ``k`` at a first-visited prefix whose viable tokens are ``idx`` (sorted,
        int64); weights ``e[idx]``. Returns the new state (``REJECT`` when ``k`` is not viable, ``NEED_LOG`` when
        the weights underflowed: nothing recorded)."""
        cdef const int64_t *ix
        cdef const int64_t[::1] view
        cdef object hold = idx
        cdef _ndarray *p = _vec(idx, _I64)
        cdef double *ev = self.ep
        cdef Py_ssize_t n, i, j, lo, hi, V = self.V
        cdef double tot = 0.0, rest, s, log_rest
        cdef bint valid
        if self.cur is None:
            raise RuntimeError("no attempt in progress (call begin)")
        if not 0 <= k < V:
            raise IndexError(f"token {k} out of range")
        if p == NULL or p.strides[0] != 8:
            hold = np.ascontiguousarray(idx, dtype=np.int64)
            p = _vec(hold, _I64)
        if p != NULL:
            ix, n = <const int64_t *> p.data, p.dimensions[0]
        else:
            view = hold
            n = view.shape[0]
            ix = &view[0] if n else NULL
        for i in range(n):
            if not 0 <= ix[i] < V:
                raise IndexError(f"token {ix[i]} out of range")
            tot += ev[ix[i]]
        if tot < C_TINY:
            return C_NEED_LOG
        lo, hi = 0, n
        while lo < hi:  # leftmost position of k (np.searchsorted)
            j = (lo + hi) >> 1
            if ix[j] < k:
                lo = j + 1
            else:
                hi = j
        j = lo
        valid = j < n and ix[j] == k
        rest = tot
        if valid:
            if ev[k] <= 0.5 * tot:
                rest = tot - ev[k]
            else:  # subtracting a dominant weight cancels: add up the others instead
                rest = 0.0
                for i in range(j):
                    rest += ev[ix[i]]
                s = 0.0
                for i in range(j + 1, n):
                    s += ev[ix[i]]
                rest = rest + s
        if rest >= C_TINY:
            log_rest = log(rest) - log_s
        elif n == (1 if valid else 0):
            log_rest = -INFINITY
        else:
            return C_NEED_LOG
        return self._push(k, valid, log_rest, _f64_at(lg, k) - mx - log_s)

    def push(self, Py_ssize_t k, bint valid, double log_rest, double logp):
        """Record the draw of ``k`` from the cursor given the other viable tokens' log weight ``log_rest`` and
        ``logp = log P(k|u)``; moves the cursor (storing the child when allowed). Returns the new state."""
        if self.cur is None:
            raise RuntimeError("no attempt in progress (call begin)")
        if not 0 <= k < self.V:
            raise IndexError(f"token {k} out of range")
        return self._push(k, valid, log_rest, logp)

    cdef int _push(self, Py_ssize_t k, bint valid, double log_rest, double logp) except -1:
        cdef Node node = self.cur, nxt
        cdef Record *r
        cdef Py_ssize_t slot = -1, cap
        cdef void *p
        cdef int state
        if self.plen == self.pcap:
            cap = 2 * self.pcap if self.pcap else 64
            p = realloc(self.path, cap * sizeof(Record))
            if p == NULL:
                raise MemoryError()
            self.path = <Record *> p
            self.pcap = cap
        r = &self.path[self.plen]
        r.rest = log_rest
        r.logp = logp
        r.k = k
        r.was_expanded = node.expanded
        r.seen = 0.0
        r.ref = NULL
        if valid and not self._is_eos(k):
            slot = node._find(k)
            if slot >= 0:
                nxt = <Node> node.kid[slot].node
                r.seen = nxt.logc
                r.ref = <PyObject *> nxt
            else:
                nxt = Node.__new__(Node)
                if self.committing and self.nodes < self.max_nodes:
                    slot = node._add(k, nxt)
                    self.nodes += 1
                    r.ref = <PyObject *> nxt
                else:
                    self.frozen = self.frozen or self.committing
                    r.ref = <PyObject *> _UNEXPLORED
            Py_INCREF(<object> r.ref)
            self.cur = nxt
            state = _state(nxt)
        else:
            self.cur = None
            state = C_END if valid else C_REJECT
        r.slot = slot
        Py_INCREF(node)
        r.node = <PyObject *> node
        self.plen += 1
        return state

    def commit(self, Py_ssize_t j, Py_ssize_t k, wa, cw, double tot, plg, double leaf, bint died):
        """Record the last masked draw (logits ``plg``) as :meth:`advance` does (``j = -1``: none), then update
        the estimates
        along the attempt's path, bottom up: c(u) = (other viable tokens' weight) + P(k|u) c(uk) (see the twin for
        why stopping early is exact). Leaves the cursor on the root as ``begin(True)`` would and returns the
        root's state, or ``NEED_LOG`` with nothing done."""
        cdef Node node, child, dead
        cdef Record *r
        cdef double below = leaf, a, b, hi, lo, new
        cdef Py_ssize_t i
        if j >= 0:
            if self.cur is None:
                raise RuntimeError("no attempt in progress (call begin)")
            if self._record(j, k, wa, cw, tot, plg) == C_NEED_LOG:
                return C_NEED_LOG
        if died:
            if self.cur is None:
                raise RuntimeError("died without a node at the cursor")
            dead = self.cur
            dead.logc = -INFINITY
            dead.c = 0.0
            dead.expanded = True
            if dead.nk:
                self.nodes -= _count_below(dead)
                dead._drop_kids()
        for i in range(self.plen - 1, -1, -1):
            r = &self.path[i]
            node = <Node> r.node
            if r.ref != NULL:
                child = <Node> r.ref
                below = child.logc
                if r.slot >= 0 and below != r.seen:
                    node.kid[r.slot].logc = below
                    node.kid[r.slot].c = child.c
            if r.was_expanded and below == r.seen:
                break
            a = r.rest
            b = r.logp + below
            if a == -INFINITY:
                new = b
            elif b == -INFINITY:
                new = a
            else:
                if a >= b:
                    hi, lo = a, b
                else:
                    hi, lo = b, a
                new = hi + log1p(exp(lo - hi))
            # never rises: guards the invariant against rounding and slightly nondeterministic logits
            if new < node.logc:
                node.logc = new
                node.c = exp(new)
            node.expanded = True
            if node.logc == -INFINITY and node.nk:
                self.nodes -= _count_below(node)
                node._drop_kids()
            below = node.logc
        return self._begin(True)
