"""Cython kernels. Imports nothing from the project; each kernel has a pure-Python twin (``_walk``:
masking/_walk_py.py, ``_gad``: sampling/_gad_py.py)."""
