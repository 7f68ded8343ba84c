"""The hostile-input suite builds bad and hostile inputs (archives, zips, YAML, model folders, data files) and
checks that each ends in one clear line, the documented exit status, and nothing written outside its target."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Sandbox


@pytest.fixture()
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)
