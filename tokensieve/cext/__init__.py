"""Cython kernels. Imports nothing from the project; each kernel has a pure-Python twin in masking/."""
