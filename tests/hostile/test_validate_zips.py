"""Hostile submission zips for `clue validate`: damaged members are one line naming the member (exit 2); a member
that unpacks to gigabytes is a problem found without unpacking it (bounded memory)."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from harness import FIXTURES, Sandbox, assert_clean_error, assert_only_changed

NAME = "tnews11_predict.json"


def predictions() -> bytes:
    count = sum(1 for line in (FIXTURES / "tnews" / "test.json").open(encoding="utf-8") if line.strip())
    return "".join(json.dumps({"id": i, "label": "103"}) + "\n" for i in range(count)).encode() * 40


def write_zip(path: Path, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NAME, data)
    return path


def _member_data_start(data: bytes) -> tuple[int, int]:
    name_len, extra_len = struct.unpack_from("<HH", data, 26)  # the only member starts at offset 0
    compress_size = struct.unpack_from("<I", data, 18)[0]
    return 30 + name_len + extra_len, compress_size


def validate(sandbox: Sandbox, target: Path):  # type: ignore[no-untyped-def]
    before = sandbox.files()
    done = sandbox.clue("validate", target, "--data-root", FIXTURES)
    assert_only_changed(sandbox, before, [])
    return done


def test_a_good_zip_passes(sandbox: Sandbox) -> None:
    good = write_zip(sandbox.root / "good.zip", predictions()[: len(predictions()) // 40])
    done = validate(sandbox, good)
    assert done.returncode == 0, done.stderr


def test_bad_crc_names_the_member(sandbox: Sandbox) -> None:
    data = bytearray(write_zip(sandbox.root / "x.zip", predictions()).read_bytes())
    data[14] ^= 0xFF  # CRC-32 in the local header ...
    central = data.find(b"PK\x01\x02")
    data[central + 16] ^= 0xFF  # ... and in the central directory
    (sandbox.root / "crc.zip").write_bytes(bytes(data))
    done = validate(sandbox, sandbox.root / "crc.zip")
    assert_clean_error(done, 2, f"crc.zip: member {NAME} is damaged", "Bad CRC-32")


def test_damaged_deflate_stream_names_the_member(sandbox: Sandbox) -> None:
    data = bytearray(write_zip(sandbox.root / "x.zip", predictions()).read_bytes())
    start, size = _member_data_start(bytes(data))
    for i in range(start + size // 3, start + size // 3 + 16):
        data[i] ^= 0x5A
    (sandbox.root / "deflate.zip").write_bytes(bytes(data))
    done = validate(sandbox, sandbox.root / "deflate.zip")
    assert_clean_error(done, 2, f"deflate.zip: member {NAME} is damaged")


@pytest.fixture(scope="module")
def bomb_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A ~1 MB zip whose member unpacks to 1.1 GB of zeros (built once: compressing it takes seconds)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(NAME, "w", force_zip64=True) as member,
    ):
        block = b"\0" * (1 << 20)
        for _ in range(1100):
            member.write(block)
    return path.read_bytes()


def test_zip_bomb_is_a_problem_found_in_bounded_memory(sandbox: Sandbox, bomb_bytes: bytes) -> None:
    bomb = sandbox.root / "bomb.zip"
    bomb.write_bytes(bomb_bytes)
    assert bomb.stat().st_size < 2 << 20
    done = validate(sandbox, bomb)
    assert "Traceback" not in done.stderr and done.returncode == 1, done.stderr
    assert "unpacks to more than 64 MB" in done.stdout + done.stderr
    assert done.max_rss_mb < 200, done.max_rss_mb


def test_zip_bomb_lying_about_its_size_is_stopped(sandbox: Sandbox, bomb_bytes: bytes) -> None:
    data = bytearray(bomb_bytes)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # the uncompressed size the central directory declares
    (sandbox.root / "liar.zip").write_bytes(bytes(data))
    done = validate(sandbox, sandbox.root / "liar.zip")
    assert_clean_error(done, 2, f"liar.zip: member {NAME} is damaged")
    assert done.max_rss_mb < 200, done.max_rss_mb
