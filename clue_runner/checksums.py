"""The published checksums of the official CLUE archives and their files (clue_spec §2-12), as Python data.

Sources: PaddleNLP `paddlenlp/datasets/clue.py` (md5 of every zip and of every file its loader reads) and the
Hugging Face `clue` dataset_infos.json (sha256 and size of a zip). Only values the spec gives in full are used:
truncated ones (`2469c420…6ce0`) cannot be checked. Tasks without published values (CLUENER, C3, the CMRC2018 and
CHID files) download with a warning that there is nothing to verify against.

CHID's HF sha256 (`4cdf93c0…c19d`, 133,322,133 B) is deliberately left out: the same HF script reads a CHID
`test.json`, which the current zip (test1.0.json + test1.1.json, CLUE 1.1) no longer has, so that value belongs to
the pre-1.1 archive and enforcing it would refuse every correct download.

A mirror that serves other versions can be checked against a table of its own: `load_checksums(FILE.json)` reads
the JSON form written by `to_json` (`clue download --checksums FILE.json`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clue_runner.errors import ClueError, DataError

DIGEST_KEYS = ("md5", "sha256", "size")


@dataclass(frozen=True)
class Digest:
    """Expected digests of one file; None means "not published". Every value given must match."""

    md5: str | None = None
    sha256: str | None = None
    size: int | None = None

    def empty(self) -> bool:
        return self.md5 is None and self.sha256 is None and self.size is None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in DIGEST_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class TaskChecksums:
    """What one task's archive and its files must hash to.

    Attributes:
        archive: the archive's stem on the servers (`<archive>_public.zip`).
        zip: digests of the zip itself.
        files: file name (wherever the archive puts it) -> digests of the extracted file.
    """

    archive: str
    zip: Digest = field(default_factory=Digest)
    files: Mapping[str, Digest] = field(default_factory=dict)

    def has_any(self) -> bool:
        return not self.zip.empty() or any(not d.empty() for d in self.files.values())


CHECKSUMS: dict[str, TaskChecksums] = {
    "afqmc": TaskChecksums(
        "afqmc",
        Digest(
            md5="3377b559bb4e61d03a35282550902ca0",
            sha256="5a4cb1556b833010c329fa2ad2207d9e98fc94071b7e474015e9dd7c385db4dc",
            size=1_195_044,
        ),
        {
            "train.json": Digest(md5="319cf775353af9473140abca4052b89a"),
            "dev.json": Digest(md5="307154b59cb6c3e68a0f39c310bbd364"),
            "test.json": Digest(md5="94b925f23a9615dd08199c4013f761f4"),
        },
    ),
    "tnews": TaskChecksums(
        "tnews",
        Digest(md5="38186ed0a751bc33e3ae0c1b59319777"),
        {
            "train.json": Digest(md5="25c021725309a3330736380a230850fd"),
            "dev.json": Digest(md5="f0660a3339a32e764075c801b42ece3c"),
            "test.json": Digest(md5="045a6c4f59bf1a066c4a0d7afe6cd2b4"),
            "test1.0.json": Digest(md5="2d1557c7548c72d5a84c47bbbd3a4e85"),
            "labels.json": Digest(md5="a1a7595e596b202556dedd2a20617769"),
        },
    ),
    "iflytek": TaskChecksums(
        "iflytek",
        Digest(md5="19e4b19947db126f69aae18db0da2b87"),
        {
            "train.json": Digest(md5="fc9a21700c32ee3efee3fc283e9ac560"),
            "dev.json": Digest(md5="79b7d95bddeb11cd54198fd077992704"),
            "test.json": Digest(md5="ea764519ddb4369767d07664afde3325"),
            "labels.json": Digest(md5="7f9e794688ffb37fbd42b58325579fdf"),
        },
    ),
    "cmnli": TaskChecksums(
        "cmnli",
        Digest(md5="e0e8caefd9b3491220c18b466233f2ff"),
        {
            "train.json": Digest(md5="7d02308650cd2a0e183bf599ca9bb263"),
            "dev.json": Digest(md5="0b16a50a297a9afb1ce5385ee4dd3d9c"),
            "test.json": Digest(md5="804cb0bb67266983d59d1c855e6b03b0"),
        },
    ),
    "ocnli": TaskChecksums(
        "ocnli",
        Digest(md5="acb426f6f3345076c6ce79239e7bc307"),
        {
            "train.50k.json": Digest(md5="d38ec492ef086a894211590a18ab7596"),
            "dev.json": Digest(md5="3481b456bee57a3c9ded500fcff6834c"),
            "test.json": Digest(md5="680ff24e6b3419ff8823859bc17936aa"),
        },
    ),
    "cluewsc2020": TaskChecksums(
        "cluewsc2020",
        Digest(md5="2e387e20e93eeab0ffaded5b0d2dfd3d"),
        {
            "train.json": Digest(md5="afd235dcf8cdb89ee1a21d0a4823eecc"),
            "dev.json": Digest(md5="bad8cd6fa0916fc37ac96b8ce316714a"),
            "test.json": Digest(md5="27614454cc26be6fcab5bbd9a45967ff"),
            "test1.0.json": Digest(md5="0e9e8ffd8ee90ddf1f58d6dc2e02de7b"),
        },
    ),
    "csl": TaskChecksums(
        "csl",
        Digest(md5="394a2ccbf6ddd7e331be4d5d7798f0f6"),
        {
            "train.json": Digest(md5="e927948b4e0eb4992fe9f45a77446bf5"),
            "dev.json": Digest(md5="6c2ab8dd3b4785829ead94b05a1cb957"),
            "test.json": Digest(md5="ebfb89575355f00dcd9b18f8353547cd"),
        },
    ),
    "cmrc2018": TaskChecksums(
        "cmrc2018",
        Digest(sha256="6c63dc27e728ec5231aeb7d2861b4c90b6c116390582e0c44416cf3edf030b16", size=3_405_146),
    ),
    "chid": TaskChecksums("chid"),
    "c3": TaskChecksums("c3"),
    "cluener": TaskChecksums("cluener"),
}

# The 7 classification zips are also on PaddleNLP's mirror (clue_spec §1.1); the MRC/NER zips are not.
PADDLE_MIRRORED: frozenset[str] = frozenset(
    ("afqmc", "tnews", "iflytek", "cmnli", "ocnli", "cluewsc2020", "csl")
)


def _digest(obj: Any, where: str) -> Digest:
    if not isinstance(obj, dict):
        raise ClueError(f"{where}: expected an object with md5 / sha256 / size, got {obj!r}")
    unknown = set(obj) - set(DIGEST_KEYS)
    if unknown:
        raise ClueError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: {', '.join(DIGEST_KEYS)})")
    for key in ("md5", "sha256"):
        value = obj.get(key)
        width = 32 if key == "md5" else 64
        if value is not None and (
            not isinstance(value, str)
            or len(value) != width
            or any(c not in "0123456789abcdef" for c in value.lower())
        ):
            raise ClueError(f"{where}: {key} must be {width} hex digits, got {value!r}")
    size = obj.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ClueError(f"{where}: size must be a non-negative integer, got {size!r}")
    md5, sha = obj.get("md5"), obj.get("sha256")
    return Digest(md5=md5.lower() if md5 else None, sha256=sha.lower() if sha else None, size=size)


def parse_checksums(data: Any, where: str = "checksums") -> dict[str, TaskChecksums]:
    """Build a table from its JSON form: {task: {"archive": str?, "zip": digest?, "files": {name: digest}?}}.

    Tasks not named keep no checksums (they download with the "nothing to verify" warning), so a mirror's file
    never silently falls back to the published values it was written to replace.
    """
    if not isinstance(data, dict):
        raise ClueError(f"{where}: expected a JSON object mapping task names to checksums")
    table: dict[str, TaskChecksums] = {}
    for task, entry in data.items():
        at = f"{where}: {task}"
        if not isinstance(entry, dict):
            raise ClueError(f"{at}: expected an object")
        unknown = set(entry) - {"archive", "zip", "files"}
        if unknown:
            raise ClueError(f"{at}: unknown key(s) {sorted(unknown)} (allowed: archive, zip, files)")
        archive = entry.get("archive", task)
        if not isinstance(archive, str) or not archive:
            raise ClueError(f"{at}: archive must be a non-empty string")
        files = entry.get("files", {})
        if not isinstance(files, dict):
            raise ClueError(f"{at}: files must be an object mapping file names to digests")
        table[task] = TaskChecksums(
            archive,
            _digest(entry.get("zip", {}), f"{at}: zip"),
            {name: _digest(d, f"{at}: files: {name}") for name, d in files.items()},
        )
    return table


def load_checksums(path: str | Path) -> dict[str, TaskChecksums]:
    """Read a checksum table from a JSON file (the `--checksums FILE.json` option)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClueError(f"cannot read checksum file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", exc.lineno) from None
    return parse_checksums(data, str(path))


def to_json(table: Mapping[str, TaskChecksums]) -> str:
    """The JSON form `load_checksums` reads (also how to start a table for a mirror)."""
    out = {
        task: {
            "archive": entry.archive,
            "zip": entry.zip.to_dict(),
            "files": {name: d.to_dict() for name, d in entry.files.items()},
        }
        for task, entry in table.items()
    }
    return json.dumps(out, indent=2) + "\n"
