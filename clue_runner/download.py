"""Fetching the official CLUE archives, verifying them, and laying them out as task folders.

`download_task` is the whole story for one task: pick the sources (the official bucket, then the PaddleNLP
mirror for the classification zips; or one `base_url`), stream the zip into `<root>/.partial/` with bounded
retries that resume by HTTP Range, check the zip against the published md5 / sha256 (clue_runner.checksums),
extract the task's files by name wherever the archive keeps them, check every extracted file, and only then
rename the finished folder into place. Whatever goes wrong, the task folder is either absent or exactly what it
was before; the one thing deliberately kept is a `.part` file after a dropped connection, so the next attempt
resumes instead of starting over.

Only the standard library talks HTTP (urllib), so no extra dependency is needed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.checksums import Digest, TaskChecksums, paddle_mirrored, published_checksums
from clue_runner.data import data_root as _data_root
from clue_runner.errors import ClueError
from clue_runner.results import current_umask

if TYPE_CHECKING:
    from clue_runner.tasks.base import Task

log = logging.getLogger("clue_runner")

OFFICIAL_BASE = "https://storage.googleapis.com/cluebenchmark/tasks"
PADDLE_BASE = "https://bj.bcebos.com/paddlenlp/datasets"

# An unreachable host must fail in seconds: connecting gets a short limit; a stalled transfer a longer one
# (slow mirrors pause), after which the retry resumes where the transfer stopped.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
ATTEMPTS = 4  # per source; each retry waits BACKOFF * 2**n seconds
BACKOFF = 1.0
RETRY_STATUS = frozenset({408, 429, 502, 503, 504})

# Limits on what an archive may make us write (the official archives stay far below them: the largest file,
# CHID's train.json, is a few hundred MB; no archive has more than a dozen members).
# A download larger than this is refused (the checksum table's zip size replaces it where it gives one).
MAX_ARCHIVE_BYTES = 2 << 30
MAX_MEMBER_BYTES = 1 << 30  # one extracted file
MAX_TOTAL_BYTES = 3 << 30  # all extracted files together
MAX_MEMBERS = 10_000  # entries in the archive's directory
# Files taken besides those the task reads and those the checksum table lists.
EXTRA_FILES = ("labels.json", "README.md", "README.txt", "README")

PARTIAL_DIR = ".partial"
MANIFEST = ".clue-download.json"
CHUNK = 1 << 16
HINT = "a mirror serving other versions needs --checksums FILE.json; --no-verify skips the check"
MANUAL = (
    "without network access, fetch {name} elsewhere and install it from a local folder: "
    "clue download TASK --base-url /path/to/folder (see docs/data.md)"
)
USER_AGENT = "clue-runner (+https://github.com/CLUEbenchmark/CLUE)"


class DownloadError(ClueError):
    """A download that could not be completed (network, HTTP status, damaged archive)."""


class ChecksumError(ClueError):
    """An archive or file whose digest differs from the expected one."""


class _Interrupted(Exception):
    """A transfer that stopped early; the bytes so far are kept in the .part file."""


class _TooLarge(Exception):
    """A transfer that went past its size limit."""


@dataclass
class FolderStatus:
    """What is in a task folder compared with what the task needs and the checksum table says."""

    path: Path
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # train/dev files, or every test split's files
    tests_present: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


# ---------------------------------------------------------------------------------------------------- hashing


def hash_file(path: Path) -> dict[str, Any]:
    """md5, sha256 and size of a file, in one pass."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            md5.update(block)
            sha.update(block)
            size += len(block)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest(), "size": size}


def mismatch(label: str, expected: Digest, actual: Mapping[str, Any]) -> str | None:
    """A message naming every expected digest that differs (expected and actual both shown), or None."""
    problems = [
        f"{key} expected {getattr(expected, key)}, got {actual[key]}"
        for key in ("size", "md5", "sha256")
        if getattr(expected, key) is not None and getattr(expected, key) != actual[key]
    ]
    return f"{label}: checksum mismatch: {'; '.join(problems)}" if problems else None


# ---------------------------------------------------------------------------------------------------- folders


def required_files(task: Task) -> tuple[list[str], list[tuple[str, tuple[str, ...]]]]:
    """(train and dev file names, [(test split, its file names)])."""
    core = [name for split in ("train", "dev") for name in task.splits.get(split, ())]
    tests = [(split, tuple(task.splits[split])) for split in task.test_splits]
    return core, tests


def folder_status(task: Task, folder: Path, table: TaskChecksums | None) -> FolderStatus:
    """Completeness (train, dev and at least one test split) and, with a table, each listed file's digest."""
    status = FolderStatus(folder)
    core, tests = required_files(task)
    names = {*core, *(n for _, files in tests for n in files)}
    status.present = sorted(n for n in names if (folder / n).is_file())
    status.missing = [n for n in core if not (folder / n).is_file()]
    status.tests_present = [s for s, files in tests if all((folder / n).is_file() for n in files)]
    if tests and not status.tests_present:
        status.missing += [n for _, files in tests for n in files if not (folder / n).is_file()]
    if table is not None:
        for name, digest in table.files.items():
            path = folder / name
            if digest.empty() or not path.is_file():
                continue
            problem = mismatch(str(path), digest, hash_file(path))
            (status.mismatches if problem else status.verified).append(problem or name)
    return status


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The record `download_task` leaves in a task folder (source, digests, verification), if any."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------------------------------------------- HTTP


def source_urls(task: str, archive: str, base_url: str | None = None) -> list[str]:
    """The archive's URLs, in the order they are tried.

    `base_url` replaces the defaults (a user who names a mirror means that mirror); a local folder works too.
    """
    if base_url:
        base = base_url
        if "://" not in base and Path(base).expanduser().is_dir():
            base = Path(base).expanduser().resolve().as_uri()
        return [f"{base.rstrip('/')}/{archive}_public.zip"]
    bases = [OFFICIAL_BASE] + ([PADDLE_BASE] if paddle_mirrored(task) else [])
    return [f"{b}/{archive}_public.zip" for b in bases]


def _set_read_timeout(response: Any, seconds: float) -> None:
    # urlopen applies one timeout to connect and reads; lengthen it for the transfer once connected. The socket
    # sits behind private attributes, so a missing one just keeps the connect timeout.
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            sock.settimeout(seconds)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


@contextmanager
def _bar(enabled: bool, label: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn(label, style="bold", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        yield progress


def _stream(
    response: Any, part: Path, offset: int, total: int | None, progress: Any, url: str, max_bytes: int
) -> None:
    """Append the response body to `part` (which holds `offset` bytes); raise _Interrupted if it stops early,
    DownloadError if it grows past `max_bytes`."""
    bar = progress.add_task("download", total=total, completed=offset) if progress is not None else None
    received = offset
    with part.open("ab" if offset else "wb") as out:
        try:
            while block := response.read(CHUNK):
                out.write(block)
                received += len(block)
                if received > max_bytes:
                    raise _TooLarge(received)
                if bar is not None:
                    progress.update(bar, completed=received)
        except (http.client.IncompleteRead, OSError, http.client.HTTPException) as exc:
            raise _Interrupted(
                f"transfer of {url} interrupted after {received} bytes: {_reason(exc)}"
            ) from None
    if total is not None and received < total:
        raise _Interrupted(f"transfer of {url} stopped after {received} of {total} bytes")


def fetch(
    url: str,
    part: Path,
    progress: bool = True,
    attempts: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Download `url` into `part`, resuming from the bytes already there when the server honours Range.

    Connection errors, timeouts, early ends and 408/429/5xx-gateway statuses are retried with doubling pauses, at
    most `attempts` times; other HTTP statuses fail at once with the status in the message, and so does a host
    name that does not resolve (no network or DNS: retrying will not help). A body larger than `max_bytes`
    (default MAX_ARCHIVE_BYTES) is refused.

    Returns:
        `part`, complete.

    Raises:
        DownloadError: the transfer did not complete. After a connection failure the partial file is kept so
            the next call resumes; after an HTTP error it is removed.
    """
    attempts = attempts or ATTEMPTS
    connect_timeout = connect_timeout or CONNECT_TIMEOUT
    read_timeout = read_timeout or READ_TIMEOUT
    max_bytes = max_bytes or MAX_ARCHIVE_BYTES
    part.parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(BACKOFF * 2 ** (attempt - 1))
        offset = part.stat().st_size if part.is_file() else 0
        headers = {"User-Agent": USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=connect_timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and offset:
                # The saved bytes do not fit what the server has now (changed file): start over.
                part.unlink(missing_ok=True)
                last = f"{url}: HTTP 416 for a resumed range; restarting"
                continue
            if exc.code in RETRY_STATUS and attempt + 1 < attempts:
                last = f"{url}: HTTP {exc.code} {exc.reason}"
                log.warning("%s; retrying", last)
                continue
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: server answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            if isinstance(exc, ValueError) and not isinstance(exc, urllib.error.URLError):
                raise DownloadError(f"bad download URL {url!r}: {exc}") from None
            if url.startswith("file:"):  # a local mirror: retrying cannot make a missing file appear
                part.unlink(missing_ok=True)
                raise DownloadError(f"{url}: {_reason(exc)}") from None
            if isinstance(getattr(exc, "reason", exc), socket.gaierror):
                host = urllib.parse.urlsplit(url).hostname or url
                name = Path(urllib.parse.urlsplit(url).path).name
                raise DownloadError(
                    f"cannot resolve {host} (no network or DNS?): {_reason(exc)}; {MANUAL.format(name=name)}"
                ) from None
            last = f"cannot reach {urllib.parse.urlsplit(url).netloc or url}: {_reason(exc)}"
            if attempt + 1 < attempts:
                log.warning("%s; retrying (%d/%d)", last, attempt + 2, attempts)
            continue
        with response:
            _set_read_timeout(response, read_timeout)
            status = getattr(response, "status", None) or 200
            length = response.headers.get("Content-Length")
            size = int(length) if length and length.isdigit() else None
            if size is not None and (offset if status == 206 else 0) + size > max_bytes:
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"{url}: {size} bytes is more than the {max_bytes} expected; not downloaded"
                )
            if offset and status == 206:
                start = _range_start(response.headers.get("Content-Range"))
                if start != offset:
                    part.unlink(missing_ok=True)
                    last = f"{url}: server resumed at byte {start}, not {offset}; restarting"
                    continue
                total = offset + size if size is not None else None
            else:
                if offset:
                    log.info("%s does not resume downloads; starting again from the beginning", url)
                offset = 0
                total = size
            try:
                with _bar(progress, Path(urllib.parse.urlsplit(url).path).name) as bar:
                    _stream(response, part, offset, total, bar, url, max_bytes)
            except _TooLarge as exc:
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"{url}: more than the {max_bytes} bytes expected ({exc}); stopped"
                ) from None
            except _Interrupted as exc:
                last = str(exc)
                if attempt + 1 < attempts:
                    log.warning("%s; resuming (%d/%d)", last, attempt + 2, attempts)
                continue
        return part
    raise DownloadError(
        f"{last} (gave up after {attempts} attempts"
        + (f"; {part.stat().st_size} bytes kept in {part}: run again to resume)" if part.is_file() else ")")
        + f"; {MANUAL.format(name=Path(urllib.parse.urlsplit(url).path).name)}"
    )


def _range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    head = value[6:].split("-", 1)[0].strip()
    return int(head) if head.isdigit() else None


# ---------------------------------------------------------------------------------------------------- archives


def _members(archive: zipfile.ZipFile) -> dict[str, list[zipfile.ZipInfo]]:
    """Regular files by base name, leaving out folders, macOS resource forks and hidden files."""
    out: dict[str, list[zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        parts = info.filename.replace("\\", "/").split("/")
        name = parts[-1]
        if info.is_dir() or not name or name.startswith(".") or "__MACOSX" in parts:
            continue
        out.setdefault(name, []).append(info)
    return out


def extract(zip_path: Path, task: Task, staging: Path, table: TaskChecksums | None = None) -> list[str]:
    """Copy the task's files (found by name anywhere in the archive), the files `table` lists and a few known
    extras (EXTRA_FILES) flat into `staging`; every other member is left unread.

    Each member taken is size-checked before it is read (against the size `table` gives, MAX_MEMBER_BYTES and,
    all together, MAX_TOTAL_BYTES), then streamed with its CRC checked and its declared size enforced, so a
    small archive cannot fill the disk.

    Returns:
        the file names written.

    Raises:
        DownloadError: not a zip, too many members, a member too large or damaged, a needed file missing or
            present twice.
    """
    label = zip_path.name.removesuffix(".part")  # the archive's own name, not that of the file being fetched
    core, tests = required_files(task)
    needed = {*core, *(n for _, files in tests for n in files)}
    wanted = needed | set(table.files if table is not None else ()) | set(EXTRA_FILES)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DownloadError(f"{label} is not a readable zip archive (truncated or damaged?): {exc}") from None
    with archive:
        if len(archive.infolist()) > MAX_MEMBERS:
            raise DownloadError(
                f"{label} has {len(archive.infolist())} members (at most {MAX_MEMBERS} expected): "
                "not a CLUE archive"
            )
        members = _members(archive)
        twice = sorted(n for n in needed if len(members.get(n, ())) > 1)
        if twice:
            shown = "; ".join(f"{n}: {', '.join(i.filename for i in members[n])}" for n in twice)
            raise DownloadError(f"{label} holds more than one file of the same name ({shown})")
        missing = [n for n in core if n not in members]
        tests_there = [s for s, files in tests if all(n in members for n in files)]
        if tests and not tests_there:
            missing += [n for _, files in tests for n in files if n not in members]
        if missing:
            found = ", ".join(sorted(members)[:30]) + (", ..." if len(members) > 30 else "") or "no files"
            raise DownloadError(f"{label} lacks {', '.join(missing)} for {task.name} (it holds: {found})")
        absent = [s for s, _ in tests if s not in tests_there]
        if absent:
            log.warning("%s: %s has no %s test set", task.name, label, ", ".join(absent))
        taken = {
            name: infos[0] for name, infos in sorted(members.items()) if name in wanted and len(infos) == 1
        }
        for name in sorted(set(members) & wanted - set(taken)):
            log.debug("%s: skipping %s, which the archive holds more than once", task.name, name)
        _check_sizes(label, taken, table)
        for name, info in taken.items():
            _copy_member(archive, info, staging / name, label)
    return list(taken)


def _check_sizes(label: str, taken: Mapping[str, zipfile.ZipInfo], table: TaskChecksums | None) -> None:
    """Refuse, before reading anything, members larger than the table says, than MAX_MEMBER_BYTES, or than
    MAX_TOTAL_BYTES together."""
    for name, info in taken.items():
        expected = table.files[name].size if table is not None and name in table.files else None
        if expected is not None and info.file_size != expected:
            raise ChecksumError(
                f"{label}: member {info.filename} is {info.file_size} bytes, the checksum table says "
                f"{expected} ({HINT})"
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise DownloadError(
                f"{label}: member {info.filename} would unpack to {info.file_size} bytes "
                f"(at most {MAX_MEMBER_BYTES} expected for a CLUE file); not extracted"
            )
    total = sum(info.file_size for info in taken.values())
    if total > MAX_TOTAL_BYTES:
        raise DownloadError(
            f"{label}: the task's files would unpack to {total} bytes (at most {MAX_TOTAL_BYTES} "
            "expected); not extracted"
        )


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, label: str) -> None:
    """Stream one member to `dest`, never writing more than its declared size; zipfile checks the CRC at the
    end, so a damaged member is refused by name."""
    written = 0
    try:
        with archive.open(info) as src, dest.open("wb") as out:
            while block := src.read(CHUNK):
                written += len(block)
                if written > info.file_size:
                    raise DownloadError(
                        f"{label}: member {info.filename} unpacks to more than its declared {info.file_size} "
                        "bytes; not extracted"
                    )
                out.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DownloadError(f"{label} is damaged: member {info.filename}: {exc}") from None


def _check_zip(path: Path, table: TaskChecksums | None, url: str) -> dict[str, Any]:
    actual = hash_file(path)
    if table is not None:
        problem = mismatch(url, table.zip, actual)
        if problem:
            raise ChecksumError(f"{problem} ({HINT})")
    return actual


def _check_files(
    staging: Path, written: Sequence[str], table: TaskChecksums | None
) -> dict[str, dict[str, Any]]:
    digests = {name: hash_file(staging / name) for name in written}
    if table is not None:
        problems = []
        for name, digest in table.files.items():
            if digest.empty():
                continue
            if name not in digests:
                log.warning("%s: the archive has no %s (listed in the checksum table)", table.archive, name)
                continue
            problem = mismatch(name, digest, digests[name])
            if problem:
                problems.append(problem)
        if problems:
            raise ChecksumError(f"{'; '.join(problems)} ({HINT})")
    return digests


def _replace_folder(staging: Path, dest: Path) -> None:
    """Rename `staging` to `dest`; an existing `dest` is moved aside first and restored if the swap fails."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    aside.rmdir()
    os.rename(dest, aside)
    try:
        os.rename(staging, dest)
    except BaseException:
        os.rename(aside, dest)
        raise
    shutil.rmtree(aside, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- main


def download_task(
    task: str,
    data_root: Path | None = None,
    base_url: str | None = None,
    verify: bool = True,
    force: bool = False,
    checksums: Mapping[str, TaskChecksums] | None = None,
    progress: bool = True,
) -> Path:
    """Fetch, verify and lay out one task's official data; returns the task folder (`<root>/<task>`).

    Args:
        task: task name (case-insensitive).
        data_root: folder holding `<task>/` folders; default `$CLUE_DATA_DIR`, else ~/.cache/clue_runner/data.
        base_url: a mirror serving `<name>_public.zip` (URL or local folder); default: the official bucket,
            then the PaddleNLP mirror for the classification zips.
        verify: check the zip and each file against `checksums`; False skips that (with a warning).
        force: fetch again although verified data is present, and replace a folder that does not verify.
        checksums: the table to verify against (default: the published one, clue_runner.checksums).
        progress: show a progress bar on stderr.

    Raises:
        ClueError: unknown task; a folder in the way (without `force`); every source failed; checksum mismatch.
    """
    from clue_runner.registry import get_task

    spec = get_task(task)
    root = _data_root(data_root)
    table_all = published_checksums() if checksums is None else checksums
    table = table_all.get(spec.name)
    archive = table.archive if table is not None else spec.name
    check = table if verify else None
    dest = root / spec.name

    if dest.is_dir() and any(dest.iterdir()) and not force:
        status = folder_status(spec, dest, check)
        if status.complete and not status.mismatches:
            log.info(
                "%s: data already present in %s%s", spec.name, dest, " (verified)" if status.verified else ""
            )
            return dest
        problem = (
            f"is incomplete (missing {', '.join(status.missing)})"
            if status.missing
            else f"does not match the checksums ({'; '.join(status.mismatches)})"
        )
        raise ClueError(
            f"{dest} already exists but {problem}; run `clue download {spec.name} --force` to replace it"
        )
    if dest.exists() and not dest.is_dir():
        raise ClueError(f"{dest} exists and is not a folder")

    if not verify:
        log.warning("%s: checksum verification skipped (--no-verify): the data is not checked", spec.name)
        verification = "skipped (--no-verify)"
    elif table is None or not table.has_any():
        log.warning(
            "%s: no published checksums for this archive, so there is nothing to verify it against "
            "(its sha256 is recorded in %s/%s)",
            spec.name,
            dest,
            MANIFEST,
        )
        verification = "none published"
    else:
        verification = "published checksums" if checksums is None else "checksum table given by the caller"
    root.mkdir(parents=True, exist_ok=True)
    partial = root / PARTIAL_DIR
    errors: list[ClueError] = []
    try:
        urls = source_urls(spec.name, archive, base_url)
        for i, url in enumerate(urls):
            part = partial / f"{archive}_public.zip.part"
            try:
                return _install(spec, url, part, dest, check, verification, progress)
            except ClueError as exc:
                errors.append(exc)
                if i + 1 < len(urls):
                    log.warning("%s; trying %s", exc, urls[i + 1])
    finally:
        with suppress(OSError):
            partial.rmdir()  # only when empty: a kept .part stays for resuming
    if len(errors) == 1:
        raise errors[0]
    raise DownloadError(f"{spec.name}: every source failed: " + " | ".join(map(str, errors)))


def _install(
    spec: Task,
    url: str,
    part: Path,
    dest: Path,
    table: TaskChecksums | None,
    verification: str,
    progress: bool,
) -> Path:
    log.info("%s: downloading %s", spec.name, url)
    known = table.zip.size if table is not None else None
    fetch(url, part, progress=progress, max_bytes=known)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.tmp-", dir=dest.parent))
    os.chmod(
        staging, 0o777 & ~current_umask()
    )  # mkdtemp makes it owner-only; the task folder is a normal one
    try:
        try:
            zip_digest = _check_zip(part, table, url)
            written = extract(part, spec, staging, table)
            digests = _check_files(staging, written, table)
        except ClueError:
            part.unlink(missing_ok=True)  # a refused archive must not be resumed next time
            raise
        manifest = {
            "task": spec.name,
            "url": url,
            "downloaded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verified": verification in ("published checksums", "checksum table given by the caller"),
            "verification": verification,
            "archive": zip_digest,
            "files": digests,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _replace_folder(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    part.unlink(missing_ok=True)
    log.info("%s: %d files in %s", spec.name, len(digests), dest)
    return dest
