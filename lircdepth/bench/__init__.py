"""Benchmarks that print tables (`lircdepth bench NAME`): speed targets live here, never in unit tests."""
