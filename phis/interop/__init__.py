"""Interoperability layer (ARCHITECTURE.md §1): message layouts and adapters for exchange with
outside systems. Pure Python on top of ``phis.core`` at most; the Django apps that store
messages and talk to the database sit above it (import-linter: apps -> interop -> core).

- ``nidrs``: the direct-report exchange layout (report cards and acknowledgements) used with
  the national system (中国疾病预防控制信息系统) and the province.
"""
