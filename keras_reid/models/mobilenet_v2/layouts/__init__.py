"""Upstream PyTorch state-dict layouts of this family (rules for `python -m conversion`)."""
