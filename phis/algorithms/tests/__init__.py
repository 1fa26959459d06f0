"""Tests of phis.algorithms (plain pytest + hypothesis, no database)."""
