"""Upstream layouts of the toy family."""
