import pytest

torch = pytest.importorskip("torch", reason="conversion tests need PyTorch (CPU)")
