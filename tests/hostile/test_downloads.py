"""Hostile archives and checksum tables for `clue download`: bounded extraction, plain names, fast DNS failure.

Archives are served from a local folder (`--base-url FOLDER`), so no network is involved.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest
from harness import FIXTURES, Sandbox, assert_clean_error, assert_only_changed

from clue_runner import download as dl
from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.download import DownloadError, download_task


def tnews_members() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((FIXTURES / "tnews").iterdir())}


def build_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def set_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size the central directory declares for `member` (the data stays)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{member} not in the archive")


def corrupt_member(data: bytes, member: str) -> bytes:
    """Flip bytes in the middle of `member`'s compressed data (its CRC no longer matches)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    header = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, header + 26)
    start = header + 30 + name_len + extra_len
    out = bytearray(data)
    middle = start + info.compress_size // 2
    out[middle : middle + 4] = bytes(b ^ 0xFF for b in out[middle : middle + 4])
    return bytes(out)


def mirror_with(sandbox: Sandbox, archive: bytes) -> Path:
    folder = sandbox.root / "mirror"
    folder.mkdir(exist_ok=True)
    (folder / "tnews_public.zip").write_bytes(archive)
    return folder


def download(sandbox: Sandbox, mirror: Path, *extra: str | Path):  # type: ignore[no-untyped-def]
    root = sandbox.root / "data-root"
    before = sandbox.files()
    done = sandbox.clue(
        "download", "tnews", "--data-root", root, "--base-url", mirror, "-q", "--no-verify", *extra
    )
    return done, before, root


def test_a_member_declaring_a_huge_size_is_refused_unread(sandbox: Sandbox) -> None:
    archive = set_declared_size(build_zip(tnews_members()), "train.json", 3 << 30)
    done, before, root = download(sandbox, mirror_with(sandbox, archive))
    assert_clean_error(done, 2, "member train.json would unpack to 3221225472 bytes")
    assert_only_changed(sandbox, before, [])
    assert not (root / "tnews").exists()


def test_a_member_larger_than_declared_is_stopped(sandbox: Sandbox) -> None:
    archive = set_declared_size(build_zip(tnews_members()), "dev.json", 10)
    done, before, _ = download(sandbox, mirror_with(sandbox, archive))
    assert_clean_error(done, 2, "member dev.json")
    assert_only_changed(sandbox, before, [])


def test_a_damaged_member_is_named(sandbox: Sandbox) -> None:
    members = tnews_members()
    members["train.json"] = members["train.json"] * 50  # long enough to corrupt its middle
    archive = corrupt_member(build_zip(members), "train.json")
    done, before, _ = download(sandbox, mirror_with(sandbox, archive))
    assert_clean_error(done, 2, "tnews_public.zip is damaged: member train.json")
    assert_only_changed(sandbox, before, [])


def test_too_many_members_is_refused(sandbox: Sandbox) -> None:
    junk = {f"junk/{i}.txt": b"" for i in range(dl.MAX_MEMBERS)}
    archive = build_zip({**tnews_members(), **junk}, zipfile.ZIP_STORED)
    done, before, _ = download(sandbox, mirror_with(sandbox, archive))
    assert_clean_error(done, 2, f"members (at most {dl.MAX_MEMBERS} expected)")
    assert_only_changed(sandbox, before, [])


def test_only_the_files_the_task_needs_are_taken(sandbox: Sandbox) -> None:
    junk = {f"junk{i}.json": b"{}" for i in range(200)}
    archive = build_zip({**tnews_members(), **junk, "evil.sh": b"rm -rf ~\n", "sub/notes.txt": b"x"})
    done, before, root = download(sandbox, mirror_with(sandbox, archive))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (root / "tnews").iterdir()) == sorted(
        [*tnews_members(), ".clue-download.json"]
    )
    assert_only_changed(sandbox, before, ["data-root/tnews/"])


def test_member_size_is_checked_against_the_checksum_table(sandbox: Sandbox) -> None:
    members = tnews_members()
    table = {"tnews": {"files": {"train.json": {"size": len(members["train.json"]) + 1}}}}
    (sandbox.root / "sums.json").write_text(json.dumps(table), encoding="utf-8")
    root = sandbox.root / "data-root"
    before = sandbox.files()
    done = sandbox.clue(
        "download", "tnews", "--data-root", root, "--base-url", mirror_with(sandbox, build_zip(members)),
        "--checksums", sandbox.root / "sums.json", "-q",
    )  # fmt: skip
    assert_clean_error(done, 2, "member train.json is", "the checksum table says")
    assert_only_changed(sandbox, before, ["mirror/"])


def test_archive_larger_than_the_table_says_is_not_downloaded(sandbox: Sandbox) -> None:
    archive = build_zip(tnews_members())
    (sandbox.root / "sums.json").write_text(json.dumps({"tnews": {"zip": {"size": 100}}}), encoding="utf-8")
    root = sandbox.root / "data-root"
    mirror = mirror_with(sandbox, archive)
    before = sandbox.files()
    done = sandbox.clue(
        "download",
        "tnews",
        "--data-root",
        root,
        "--base-url",
        mirror,
        "--checksums",
        sandbox.root / "sums.json",
        "-q",
    )
    assert_clean_error(done, 2, "more than the 100")
    assert_only_changed(sandbox, before, [])


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"archive": "../../somewhere"}, "archive: '../../somewhere' is not a plain file name"),
        ({"archive": "/etc/passwd"}, "is not a plain file name"),
        ({"files": {"../train.json": {"md5": "0" * 32}}}, "files: '../train.json' is not a plain file name"),
        ({"files": {"sub/train.json": {"size": 1}}}, "is not a plain file name"),
    ],
)
def test_checksum_table_names_are_plain_file_names(
    sandbox: Sandbox, entry: dict[str, object], needle: str
) -> None:
    (sandbox.root / "sums.json").write_text(json.dumps({"tnews": entry}), encoding="utf-8")
    before = sandbox.files()
    done = sandbox.clue(
        "download",
        "tnews",
        "--data-root",
        sandbox.root / "data-root",
        "--checksums",
        sandbox.root / "sums.json",
    )
    assert_clean_error(done, 2, needle)
    assert_only_changed(sandbox, before, [])
    assert not (sandbox.root / "data-root").exists() and not (sandbox.root.parent / "somewhere.part").exists()


def test_dns_failure_is_not_retried_and_names_the_manual_route(sandbox: Sandbox) -> None:
    start = time.monotonic()
    done = sandbox.clue(
        "download",
        "tnews",
        "--data-root",
        sandbox.root / "data-root",
        "--base-url",
        "http://no-such-host.invalid/clue",
    )
    assert_clean_error(
        done, 2, "cannot resolve no-such-host.invalid", "--base-url /path/to/folder", "docs/data.md"
    )
    assert "retrying" not in done.stderr
    assert time.monotonic() - start < 30  # four attempts with back-off took 14 s on top of the start-up


def test_downloaded_folder_has_normal_permissions(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    members = tnews_members()
    (mirror / "tnews_public.zip").write_bytes(build_zip(members))
    old = os.umask(0o022)
    try:
        folder = download_task(
            "tnews", data_root=tmp_path / "root", base_url=str(mirror), checksums={"tnews": TaskChecksums("tnews")},
            progress=False,
        )  # fmt: skip
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "train.json").stat().st_mode) == 0o644


def test_size_limits_apply_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A member really larger than the cap (declared honestly) and a total over the cap."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    members = tnews_members()
    members["train.json"] = members["train.json"] * 200
    (mirror / "tnews_public.zip").write_bytes(build_zip(members))
    table = {"tnews": TaskChecksums("tnews", files={"train.json": Digest()})}
    monkeypatch.setattr(dl, "MAX_MEMBER_BYTES", len(members["train.json"]) - 1)
    with pytest.raises(DownloadError, match="member train.json would unpack to"):
        download_task(
            "tnews", data_root=tmp_path / "root", base_url=str(mirror), checksums=table, progress=False
        )
    monkeypatch.setattr(dl, "MAX_MEMBER_BYTES", 1 << 30)
    monkeypatch.setattr(dl, "MAX_TOTAL_BYTES", len(members["train.json"]))
    with pytest.raises(DownloadError, match="the task's files would unpack to"):
        download_task(
            "tnews", data_root=tmp_path / "root", base_url=str(mirror), checksums=table, progress=False
        )
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == []
