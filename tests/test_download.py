"""`clue download` against a local HTTP mirror (127.0.0.1, port 0) serving archives the tests build.

Covers: success (flat and with a top-level folder), checksum mismatches (zip and file), a truncated archive,
HTTP 404/500, an interrupted transfer resumed by Range (within one call and across calls), a server that ignores
Range, an unreachable host failing fast, fallback to the mirror, and that no failure leaves or damages a folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clue_runner import download as dl
from clue_runner.checksums import Digest, TaskChecksums, load_checksums, published_checksums, to_json
from clue_runner.cli import app
from clue_runner.download import ChecksumError, DownloadError, download_task
from clue_runner.errors import ClueError
from clue_runner.registry import get_task

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------- test data

TNEWS_LABELS = [("100", "news_story"), ("103", "news_sports"), ("104", "news_finance"), ("109", "news_tech")]
WORDS = ["湖畔", "清晨", "球队", "新品", "列车", "古镇", "书店", "菜价", "山路", "晚霞"]


def tnews_files() -> dict[str, bytes]:
    """A small TNEWS folder in the official layout, with invented titles."""

    def line(obj: dict[str, object]) -> str:
        return json.dumps(obj, ensure_ascii=False) + "\n"

    train = "".join(
        line({"label": code, "label_desc": desc, "sentence": f"{WORDS[i % 10]}消息第{i}条", "keywords": ""})
        for i, (code, desc) in enumerate(TNEWS_LABELS * 5)
    )
    dev = "".join(
        line(
            {"label": code, "label_desc": desc, "sentence": f"{WORDS[-i % 10]}快讯{i}", "keywords": WORDS[i]}
        )
        for i, (code, desc) in enumerate(TNEWS_LABELS * 2)
    )
    test = "".join(line({"id": i, "sentence": f"{WORDS[i]}今日看点", "keywords": ""}) for i in range(6))
    test10 = "".join(line({"id": i, "sentence": f"旧版{WORDS[i]}标题", "keywords": ""}) for i in range(5))
    labels = "".join(line({"label": c, "label_desc": d}) for c, d in TNEWS_LABELS)
    return {
        "train.json": train.encode(),
        "dev.json": dev.encode(),
        "test.json": test.encode(),
        "test1.0.json": test10.encode(),
        "labels.json": labels.encode(),
    }


def make_zip(files: dict[str, bytes], folder: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if folder:
            zf.writestr(f"{folder}/", b"")
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}" if folder else name, data)
        zf.writestr("__MACOSX/._train.json", b"junk")
    return buf.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def table_for(archive: bytes, files: dict[str, bytes], task: str = "tnews") -> dict[str, TaskChecksums]:
    """A checksum table in the published table's shape, for archives the tests build."""
    return {
        task: TaskChecksums(
            task,
            Digest(md5=md5(archive), sha256=hashlib.sha256(archive).hexdigest(), size=len(archive)),
            {name: Digest(md5=md5(data)) for name, data in files.items()},
        )
    }


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class Route:
    body: bytes
    status: int = 200
    cut_first: int = 0  # the first N responses stop halfway (Content-Length promises the whole body)
    ranges: bool = True  # honour Range requests
    served: int = 0


@dataclass
class Mirror:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def serve(self, path: str, body: bytes, **kw: object) -> Route:
        route = Route(body, **kw)  # type: ignore[arg-type]
        self.routes[path] = route
        return route


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            mirror.requests.append((self.path, rng))
            route = mirror.routes.get(self.path)
            if route is None or route.status != 200:
                status = 404 if route is None else route.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, start = route.body, 0
            route.served += 1
            if rng and route.ranges and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            chunk = body[start:]
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            if route.served <= route.cut_first:
                self.wfile.write(chunk[: len(chunk) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(chunk)

    return Handler


@pytest.fixture()
def mirror() -> Iterator[Mirror]:
    box = Mirror("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "BACKOFF", 0.01)
    monkeypatch.setattr(dl, "CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(dl, "READ_TIMEOUT", 5.0)


def leftovers(root: Path) -> list[str]:
    """Everything in the data root: a failed download must leave nothing (no task folder, temp or partial)."""
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def assert_tnews_folder(folder: Path, files: dict[str, bytes]) -> None:
    task = get_task("tnews")
    for name, data in files.items():
        assert (folder / name).read_bytes() == data
    assert len(task.read(folder, "train")) == 20
    assert len(task.read(folder, "test1.0")) == 5
    manifest = json.loads((folder / ".clue-download.json").read_text())
    assert manifest["verified"] is True
    assert not (folder / "__MACOSX").exists() and not (folder / "._train.json").exists()


# ---------------------------------------------------------------------------------------------- success


@pytest.mark.parametrize("folder", ["", "tnews_public"])
def test_download_lays_out_a_verified_task_folder(mirror: Mirror, tmp_path: Path, folder: str) -> None:
    files = tnews_files()
    archive = make_zip(files, folder)
    mirror.serve("/tnews_public.zip", archive)
    root = tmp_path / "data"
    path = download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=False)
    assert path == root / "tnews"
    assert_tnews_folder(path, files)
    assert leftovers(root) == ["tnews"]

    # Present and verified: not fetched again; --force fetches again.
    download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=False)
    assert len(mirror.requests) == 1
    download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=False, force=True)
    assert len(mirror.requests) == 2
    assert_tnews_folder(path, files)
    assert leftovers(root) == ["tnews"]


def test_default_data_root_comes_from_the_environment(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    monkeypatch.setenv("CLUE_DATA_DIR", str(tmp_path / "env-root"))
    path = download_task("TNEWS", None, mirror.url + "/", checksums=table_for(archive, files), progress=False)
    assert path == tmp_path / "env-root" / "tnews"


def test_local_folder_as_mirror(tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files, "tnews_public")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "tnews_public.zip").write_bytes(archive)
    path = download_task(
        "tnews",
        tmp_path / "data",
        str(tmp_path / "mirror"),
        checksums=table_for(archive, files),
        progress=False,
    )
    assert_tnews_folder(path, files)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"afqmc_public\.zip: .*No such file"):
        download_task("afqmc", tmp_path / "data", str(tmp_path / "mirror"), progress=False)
    assert time.monotonic() - started < 1
    assert leftovers(tmp_path / "data") == ["tnews"]


def test_falls_back_to_the_paddle_mirror(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/paddle/tnews_public.zip", archive)
    monkeypatch.setattr(dl, "OFFICIAL_BASE", mirror.url + "/official")  # 404 there
    monkeypatch.setattr(dl, "PADDLE_BASE", mirror.url + "/paddle")
    path = download_task("tnews", tmp_path / "data", checksums=table_for(archive, files), progress=False)
    assert_tnews_folder(path, files)
    assert [p for p, _ in mirror.requests] == ["/official/tnews_public.zip", "/paddle/tnews_public.zip"]
    assert dl.source_urls("cmrc2018", "cmrc2018") == [f"{mirror.url}/official/cmrc2018_public.zip"]


# ---------------------------------------------------------------------------------------------- refusals


def test_zip_checksum_mismatch_is_refused_with_both_values(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    table = {"tnews": TaskChecksums("tnews", Digest(md5="0" * 32), {})}
    root = tmp_path / "data"
    with pytest.raises(ChecksumError) as info:
        download_task("tnews", root, mirror.url, checksums=table, progress=False)
    message = str(info.value)
    assert "md5 expected " + "0" * 32 in message and md5(archive) in message
    assert leftovers(root) == []


def test_file_checksum_mismatch_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    table = table_for(archive, files)
    table["tnews"] = TaskChecksums(
        "tnews", table["tnews"].zip, {**table["tnews"].files, "dev.json": Digest(md5="f" * 32)}
    )
    root = tmp_path / "data"
    with pytest.raises(
        ChecksumError,
        match=r"dev\.json: checksum mismatch: md5 expected f{32}, got " + md5(files["dev.json"]),
    ):
        download_task("tnews", root, mirror.url, checksums=table, progress=False)
    assert leftovers(root) == []


def test_truncated_archive_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive[: len(archive) * 2 // 3])  # the server itself has a cut file
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="not a readable zip archive"):
        download_task("tnews", root, mirror.url, verify=False, progress=False)
    assert leftovers(root) == []


def test_archive_without_the_task_files_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    del files["train.json"]
    mirror.serve("/tnews_public.zip", make_zip(files))
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=r"lacks train\.json for tnews"):
        download_task("tnews", root, mirror.url, verify=False, progress=False)
    assert leftovers(root) == []


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_name_the_status(mirror: Mirror, tmp_path: Path, status: int) -> None:
    mirror.serve("/tnews_public.zip", b"", status=status)
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=f"HTTP {status}"):
        download_task("tnews", root, mirror.url, progress=False)
    assert leftovers(root) == []
    assert len(mirror.requests) == 1  # 404/500 are not retried


def test_unreachable_host_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path / "data"
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"cannot reach 127\.0\.0\.1:\d+.*gave up after 4 attempts"):
        download_task("tnews", root, f"http://127.0.0.1:{port}", progress=False)
    assert time.monotonic() - started < 5
    assert leftovers(root) == []


def test_connect_timeout_applies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A host that accepts nothing (listen backlog full) times out on connect instead of hanging."""
    seen: list[float] = []

    def fake_urlopen(request: object, timeout: float) -> object:
        seen.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(DownloadError, match="timed out"):
        dl.fetch("http://192.0.2.1/x.zip", tmp_path / "x.part", progress=False, attempts=2)
    assert seen == [2.0, 2.0]


# ---------------------------------------------------------------------------------------------- resuming


def test_interrupted_transfer_resumes_with_range(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive, cut_first=1)
    root = tmp_path / "data"
    path = download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=True)
    assert_tnews_folder(path, files)
    assert mirror.requests[0][1] is None
    assert mirror.requests[1][1] == f"bytes={len(archive) // 2}-"
    assert leftovers(root) == ["tnews"]


def test_partial_download_is_kept_and_resumed_by_the_next_call(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    route = mirror.serve("/tnews_public.zip", archive, cut_first=100)
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="run again to resume"):
        download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=False)
    assert leftovers(root) == [".partial"]  # only the resumable bytes; no task folder
    part = root / ".partial" / "tnews_public.zip.part"
    assert 0 < part.stat().st_size < len(archive)
    route.cut_first = 0
    mirror.requests.clear()
    download_task("tnews", root, mirror.url, checksums=table_for(archive, files), progress=False)
    assert mirror.requests[0][1] == f"bytes={part_size(archive)}-"
    assert leftovers(root) == ["tnews"]


def part_size(archive: bytes) -> int:
    # 4 attempts: the first gets half of everything, each resume half of what is left.
    got = 0
    for _ in range(4):
        got += (len(archive) - got) // 2
    return got


def test_server_without_range_support_restarts_from_zero(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive, cut_first=1, ranges=False)
    path = download_task(
        "tnews", tmp_path / "data", mirror.url, checksums=table_for(archive, files), progress=False
    )
    assert_tnews_folder(path, files)


# ---------------------------------------------------------------------------------------------- existing data


def test_failed_forced_download_keeps_the_existing_folder(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    root = tmp_path / "data"
    table = table_for(archive, files)
    download_task("tnews", root, mirror.url, checksums=table, progress=False)
    before = {p.name: p.read_bytes() for p in (root / "tnews").iterdir()}
    mirror.serve("/tnews_public.zip", archive[:100])  # now broken
    with pytest.raises(ClueError):
        download_task("tnews", root, mirror.url, checksums=table, progress=False, force=True)
    assert {p.name: p.read_bytes() for p in (root / "tnews").iterdir()} == before
    assert leftovers(root) == ["tnews"]


def test_damaged_existing_folder_needs_force(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    root = tmp_path / "data"
    table = table_for(archive, files)
    (root / "tnews").mkdir(parents=True)
    (root / "tnews" / "train.json").write_text("edited\n")
    with pytest.raises(ClueError, match=r"already exists but is incomplete \(missing dev\.json.*--force"):
        download_task("tnews", root, mirror.url, checksums=table, progress=False)
    for name, data in files.items():
        (root / "tnews" / name).write_bytes(data)
    (root / "tnews" / "dev.json").write_bytes(b"x" + files["dev.json"])
    with pytest.raises(ClueError, match=r"does not match the checksums .*dev\.json: checksum mismatch"):
        download_task("tnews", root, mirror.url, checksums=table, progress=False)
    assert mirror.requests == []
    download_task("tnews", root, mirror.url, checksums=table, progress=False, force=True)
    assert_tnews_folder(root / "tnews", files)


def test_no_verify_and_missing_checksums_warn(
    mirror: Mirror, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dl.log, "propagate", True)
    files = tnews_files()
    archive = make_zip(files)
    mirror.serve("/tnews_public.zip", archive)
    wrong = {"tnews": TaskChecksums("tnews", Digest(md5="0" * 32), {})}
    with caplog.at_level("WARNING", logger="clue_runner"):
        path = download_task(
            "tnews", tmp_path / "a", mirror.url, verify=False, checksums=wrong, progress=False
        )
    assert "verification skipped" in caplog.text
    assert json.loads((path / ".clue-download.json").read_text())["verification"] == "skipped (--no-verify)"
    caplog.clear()
    with caplog.at_level("WARNING", logger="clue_runner"):
        path = download_task("tnews", tmp_path / "b", mirror.url, checksums={}, progress=False)
    assert "nothing to verify it against" in caplog.text
    manifest = json.loads((path / ".clue-download.json").read_text())
    assert (
        manifest["verified"] is False and manifest["archive"]["sha256"] == hashlib.sha256(archive).hexdigest()
    )


# ---------------------------------------------------------------------------------------------- the table


def test_published_table_covers_every_task_with_full_digests() -> None:
    from clue_runner.registry import task_names

    CHECKSUMS = published_checksums()
    assert set(CHECKSUMS) == set(task_names())
    for name, entry in CHECKSUMS.items():
        assert entry.archive == name
        for digest in [entry.zip, *entry.files.values()]:
            assert digest.md5 is None or len(digest.md5) == 32
            assert digest.sha256 is None or len(digest.sha256) == 64
    assert CHECKSUMS["tnews"].files["test1.0.json"].md5 == "2d1557c7548c72d5a84c47bbbd3a4e85"
    assert CHECKSUMS["ocnli"].files["train.50k.json"].md5 == "d38ec492ef086a894211590a18ab7596"
    assert CHECKSUMS["cmrc2018"].zip.size == 3_405_146
    # Every file the table names is one the task reads or an extra the archive ships (labels.json).
    for name, entry in CHECKSUMS.items():
        if not entry.files:
            continue
        task = get_task(name)
        known = {f for files in task.splits.values() for f in files} | {"labels.json"}
        assert set(entry.files) <= known, name


def test_checksum_table_json_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "sums.json"
    path.write_text(to_json(published_checksums()))
    assert load_checksums(path) == published_checksums()
    path.write_text(json.dumps({"tnews": {"zip": {"md5": "abc"}}}))
    with pytest.raises(ClueError, match="md5 must be 32 hex digits"):
        load_checksums(path)
    path.write_text(json.dumps({"tnews": {"zipp": {}}}))
    with pytest.raises(ClueError, match="unknown key"):
        load_checksums(path)
    path.write_text("{")
    with pytest.raises(ClueError, match="malformed JSON"):
        load_checksums(path)


# ---------------------------------------------------------------------------------------------- the CLI


def test_cli_download_and_data_listing(mirror: Mirror, tmp_path: Path) -> None:
    files = tnews_files()
    archive = make_zip(files, "tnews_public")
    mirror.serve("/tnews_public.zip", archive)
    sums = tmp_path / "sums.json"
    sums.write_text(to_json(table_for(archive, files)))
    root = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "download",
            "tnews",
            "--data-root",
            str(root),
            "--base-url",
            mirror.url,
            "--checksums",
            str(sums),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert_tnews_folder(root / "tnews", files)

    result = runner.invoke(app, ["data", "--data-root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    (entry,) = listing["tasks"]
    assert entry["task"] == "tnews" and entry["complete"] and entry["test_versions"] == ["test", "test1.0"]
    records = {f["name"]: f["records"] for f in entry["files"]}
    assert records == {"train.json": 20, "dev.json": 8, "test.json": 6, "test1.0.json": 5, "labels.json": 4}
    # Our files are not the published ones, and `clue data` says so.
    assert entry["checksums"].startswith("MISMATCH")
    assert "afqmc" in listing["absent"]
    table = runner.invoke(app, ["data", "--data-root", str(root), "--no-verify"])
    assert table.exit_code == 0 and "tnews" in table.stdout and "test1.0" in table.stdout


def test_cli_download_all_reports_each_failure(mirror: Mirror, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["download", "all", "--data-root", str(tmp_path), "--base-url", mirror.url, "-q"]
    )
    assert isinstance(result.exception, ClueError)
    assert "11 of 11 downloads failed" in str(result.exception)
    assert "HTTP 404" in result.output


def test_subprocess_download_server_error_is_one_line(mirror: Mirror, tmp_path: Path) -> None:
    mirror.serve("/cluener_public.zip", b"", status=500)
    env = {**os.environ, "CLUE_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "clue_runner", "download", "cluener", "--base-url", mirror.url, "-q"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "HTTP 500" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data" / "cluener").exists()


def test_downloaded_folder_is_what_clue_run_uses(
    mirror: Mirror, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The done-when check: an archive the project has never seen, laid out by `clue download`, runs as is."""
    files = tnews_files()
    archive = make_zip(files, "tnews_public")
    mirror.serve("/tnews_public.zip", archive)
    sums = tmp_path / "sums.json"
    sums.write_text(to_json(table_for(archive, files)))
    monkeypatch.setenv("CLUE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    got = runner.invoke(app, ["download", "tnews", "--base-url", mirror.url, "--checksums", str(sums), "-q"])
    assert got.exit_code == 0, got.output
    run = runner.invoke(
        app,
        [
            "run",
            "tnews",
            "--model",
            str(tiny_model),
            "-o",
            str(tmp_path / "run"),
            "--set",
            "train.epochs=1",
            "-q",
        ],
    )
    assert run.exit_code == 0, run.output
    assert len((tmp_path / "run" / "submission" / "tnews11_predict.json").read_text().splitlines()) == 6
    assert len((tmp_path / "run" / "submission" / "tnews10_predict.json").read_text().splitlines()) == 5


def test_data_listing_of_incomplete_and_unchecked_folders(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "cluener").mkdir(parents=True)
    (root / "cluener" / "train.json").write_text('{"text": "a", "label": {}}\n')
    (root / "cmrc2018").mkdir()
    for name in ("train.json", "dev.json", "test.json", "trial.json"):
        (root / "cmrc2018" / name).write_bytes((REPO / "tests" / "fixtures" / "cmrc2018" / name).read_bytes())
    (root / ".partial").mkdir()  # hidden folders are not tasks
    result = CliRunner().invoke(app, ["data", "--data-root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    tasks = {t["task"]: t for t in json.loads(result.stdout)["tasks"]}
    assert set(tasks) == {"cluener", "cmrc2018"}
    assert not tasks["cluener"]["complete"] and tasks["cluener"]["missing"] == ["dev.json", "test.json"]
    assert tasks["cmrc2018"]["complete"] and tasks["cmrc2018"]["checksums"] == "no published checksums"
    questions = {f["name"]: f["records"] for f in tasks["cmrc2018"]["files"]}
    doc = json.loads((root / "cmrc2018" / "dev.json").read_text(encoding="utf-8"))
    assert questions["dev.json"] == sum(len(p["qas"]) for a in doc["data"] for p in a["paragraphs"])
    empty = CliRunner().invoke(app, ["data", "--data-root", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "no task data" in empty.stdout
