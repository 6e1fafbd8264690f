"""Benchmarks: JSONSchemaBench / MaskBench runners and micro-benchmarks, tokensieve and peers side by side."""
