"""The docs stand alone: every relative link and every `§` reference resolves inside the repository.

Scanned: README.md, docs/ and tasks/ for links; those plus the code, configs, scripts and tests for `§`
references (they all point into docs/clue.md) and for mentions of files outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLUE_DOC = ROOT / "docs" / "clue.md"
MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "tasks").glob("*.md")])
SOURCES = sorted(
    [
        *MARKDOWN,
        *(ROOT / "clue_runner").rglob("*.py"),
        *(ROOT / "clue_runner").rglob("*.yaml"),
        *(ROOT / "scripts").glob("*.py"),
        *(ROOT / "tests").glob("*.py"),
        ROOT / "Makefile",
        ROOT / "pyproject.toml",
    ]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)(?:\s?-\s?(\d+(?:\.\d+)*))?")
REPO_DOC = re.compile(r"\b((?:docs|tasks)/[\w.-]+\.md)\b")
# The team's private reference notes are not part of the project; nothing may send a reader to them.
OUTSIDE = ("clue_spec", "../shared", "/work/", "design.md")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            lines.append(line.lstrip("#").strip())
    return lines


def clue_sections() -> set[str]:
    """The section numbers of docs/clue.md: "2" for "## 2. Conventions ...", "2.4" for "### 2.4 ..."."""
    found = set()
    for heading in headings(CLUE_DOC):
        match = re.match(r"(\d+(?:\.\d+)*)\.?\s", heading)
        if match:
            found.add(match.group(1))
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@pytest.mark.parametrize("doc", MARKDOWN, ids=_rel)
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    problems = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.is_file() and anchor not in {slug(h) for h in headings(dest)}:
            problems.append(f"{target}: no heading with anchor #{anchor} in {_rel(dest)}")
    assert not problems, f"{_rel(doc)}: " + "; ".join(problems)


@pytest.mark.parametrize("source", SOURCES, ids=_rel)
def test_section_references_resolve_inside_the_repo(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    outside = [word for word in OUTSIDE if word in text and source != Path(__file__).resolve()]
    assert not outside, f"{_rel(source)} refers to material outside the repository: {outside}"
    for doc in REPO_DOC.findall(text):
        assert (ROOT / doc).is_file(), f"{_rel(source)} names {doc}, which does not exist"
    refs = SECTION.findall(text)
    if not refs:
        return
    if source != CLUE_DOC:
        assert "clue.md" in text, f"{_rel(source)} uses § references without naming docs/clue.md"
    sections = clue_sections()
    missing = sorted({n for ref in refs for n in ref if n and n not in sections})
    assert not missing, f"{_rel(source)}: § {', '.join(missing)} not found in docs/clue.md"


def test_checker_catches_bad_references(tmp_path: Path) -> None:
    """The checker's own rules: a broken anchor and an unknown section number are both found."""
    assert slug("2.4 Leaderboard files and the zip") == "24-leaderboard-files-and-the-zip"
    assert slug("4.2 Best (lr, batch) per model") == "42-best-lr-batch-per-model"
    assert {"1", "2.4", "7.3"} <= clue_sections() and "13.1" not in clue_sections()
    bad = tmp_path / "bad.md"
    bad.write_text("[x](nowhere.md) and [y](#missing)\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="no such file"):
        test_relative_links_resolve(bad)
    bad.write_text("[y](#missing)\n# Title\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="#missing"):
        test_relative_links_resolve(bad)
