import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CRMSIM_FAST", "1")


@pytest.fixture
def root() -> Path:
    return ROOT
