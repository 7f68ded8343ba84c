"""Fetch the bert-base-chinese vocab (21,128 tokens) the benchmarks use, without the Hugging Face hub.

    python scripts/bench_vocab.py DEST/vocab.txt

The Chinese CLIP package on PyPI (`cn_clip` 1.6.0) ships bert-base-chinese's vocab.txt as `cn_clip/clip/vocab.txt`;
this downloads that wheel with pip (no install, no dependencies), checks the file's SHA-256 and writes it to DEST.
Benchmarks take it as `--vocab DEST` or `$CLUE_BENCH_VOCAB`; `make bench` fetches it into .cache/bench/.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "cn_clip==1.6.0"
MEMBER = "cn_clip/clip/vocab.txt"
SHA256 = "45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c"


def fetch(dest: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL]
        subprocess.run(cmd, check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        data = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{WHEEL}:{MEMBER} has SHA-256 {digest}, expected {SHA256}: not writing {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(fetch(Path(sys.argv[1])))
