"""Sources a user can open: a row's `source` names registry keys, the report shows the document.

A `source` is one or more citations separated by "; ". Each citation is "KEY SECTION" — KEY a key
of matrices/documents.toml (a document, or a family such as `AR@<commit>`, `AR#<n>`,
`PyPI:<wheel>`), SECTION free text ("Table 8-1", "§3.4.2", a path inside the repository) — or
"inferred from KEY SECTION" for our own derivations. Rendering gives the document's title,
version, the section and a public URL ("Rockchip RKNN-Toolkit Troubleshooting Guide v1.7.5,
Table 8-1 — https://…"), so a user never sees a shorthand key or a file they do not have.

A citation whose key is not in the registry is shown as written and marked unknown; the tests
fail on any such key in the shipped matrices and rules.
"""
from __future__ import annotations

import re
from functools import lru_cache

from rknn_envcheck.errors import UsageError
from rknn_envcheck.records import dataclass

INFERRED = "inferred from "
_RELEASE = re.compile(r"\d+(\.\d+)+[0-9A-Za-z.+-]*")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_PATHLIKE = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+ -]+)+$|^[A-Za-z0-9_.+-]+\.(md|txt|h|py|sh|toml|yml|yaml|json|cfg|pdf)$")


@dataclass(frozen=True)
class Citation:
    key: str
    section: str
    inferred: bool
    known: bool
    title: str = ""
    version: str = ""
    url: str = ""

    def text(self) -> str:
        """"Title vVersion, Section — URL" (or the citation as written when the key is unknown)."""
        if not self.known:
            return f"{INFERRED if self.inferred else ''}{self.key}{' ' + self.section if self.section else ''}"
        version = self.version
        # "2.3.2" reads "v2.3.2"; a commit id ("59a913d", which may start with a digit) reads "commit 59a913d"
        shown = ("v" + version if _RELEASE.fullmatch(version) else f"commit {version}" if _COMMIT.fullmatch(version) else version) if version else version
        head = self.title + (f" {shown}" if version and version not in self.title else "")
        if self.section:
            head += f", {self.section}"
        if self.url:
            head += f" — {self.url}"
        return (INFERRED if self.inferred else "") + head

    def to_dict(self) -> dict:
        return {"key": self.key, "section": self.section, "inferred": self.inferred, "known": self.known,
                "title": self.title, "version": self.version, "url": self.url}


def split_source(source: str) -> list[tuple[bool, str, str]]:
    """"TS-1.7.5 Table 8-1; inferred from seed §1.7.2" → [(False, "TS-1.7.5", "Table 8-1"), (True, "seed", "§1.7.2")].

    Semicolons inside parentheses or backquotes do not split (a quoted message may hold one)."""
    if not any(ch in source for ch in "([`"):
        parts = source.split(";")  # the common case: no quote or bracket can hold a semicolon
    else:
        parts = _split_nested(source)
    out = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        inferred = part.startswith(INFERRED)
        if inferred:
            part = part[len(INFERRED):].strip()
        key, _, section = part.partition(" ")
        out.append((inferred, key, section.strip()))
    return out


def _split_nested(source: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for ch in source:
        if ch == "`":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]" and depth:
            depth -= 1
        if ch == ";" and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


class Registry:
    """matrices/documents.toml: documents by key, and families matched by pattern."""

    def __init__(self, documents: list[dict], families: list[dict], origin: str = "documents.toml") -> None:
        self.documents: dict[str, dict] = {}
        for index, row in enumerate(documents):
            for field in ("key", "title", "url"):
                if not isinstance(row.get(field), str) or not row[field]:
                    raise UsageError(f"matrix file {origin}: [[document]] row {index + 1}: field '{field}' must be a non-empty string")
            self.documents[row["key"]] = row
        self._cited: dict[str, list[Citation]] = {}
        # Family patterns are compiled in order as resolve() reaches them (~20 patterns: a few ms of
        # every report's start-up, when most citations are plain document keys); `families` compiles all.
        self._family_rows = list(families)
        self._prefixes: list[str] | None = None  # each family pattern's literal start (_literal_prefix)
        self._compiled: list[tuple[re.Pattern, dict]] = []
        self._origin = origin

    def _compile_family(self) -> None:
        index = len(self._compiled)
        row = self._family_rows[index]
        try:
            self._compiled.append((re.compile(row["pattern"]), row))
        except (KeyError, TypeError, re.error) as exc:
            raise UsageError(f"matrix file {self._origin}: [[document_family]] row {index + 1}: field 'pattern' {exc}") from None

    @property
    def families(self) -> list[tuple[re.Pattern, dict]]:
        while len(self._compiled) < len(self._family_rows):
            self._compile_family()
        return self._compiled

    def _each_family(self, key: str = ""):
        """The families in order, compiled as reached — except those whose pattern's literal start
        (`^PyPI:`, `^TK@`, …) the key does not have: a report's keys then compile only the one or
        two families they belong to (~25 patterns: ~5 ms of every report otherwise)."""
        index = 0
        if self._prefixes is None:  # once per registry, not once per key and family
            self._prefixes = [_literal_prefix(row.get("pattern")) for row in self._family_rows]
        while index < len(self._family_rows):
            prefix = self._prefixes[index]
            if prefix and not key.startswith(prefix):
                index += 1
                continue
            while len(self._compiled) <= index:
                self._compile_family()
            yield self._compiled[index]
            index += 1

    @classmethod
    def from_matrix(cls, matrix) -> "Registry":
        return cls(matrix.rows("document"), matrix.rows("document_family"), str(getattr(matrix, "directory", "")))

    def resolve(self, key: str, section: str = "") -> dict | None:
        """{title, version, url} for a key, or None when no document or family knows it."""
        row = self.documents.get(key)
        if row is not None:
            return {"title": row["title"], "version": str(row.get("version", "")), "url": row["url"]}
        for pattern, family in self._each_family(key):
            match = pattern.match(key)
            if not match:
                continue
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            fill = lambda template: template.format(**values)  # noqa: E731 - one use, reads best inline
            url = fill(family["url"])
            if section and family.get("path_url") and _PATHLIKE.match(section.split(" ")[0]):
                url = family["path_url"].format(section=section.split(" ")[0].replace(" ", "%20"), **values)
            return {"title": fill(family["title"]), "version": fill(str(family.get("version", ""))), "url": url}
        return None

    def cite(self, source: str) -> list[Citation]:
        cached = self._cited.get(source)
        if cached is not None:
            return cached
        citations = self._cite(source)
        if len(self._cited) < 4096:  # the same few hundred sources repeat across a report's checks
            self._cited[source] = citations
        return citations

    def _cite(self, source: str) -> list[Citation]:
        citations = []
        # a source joined from several rows repeats a citation: each document is shown once
        for inferred, key, section in dict.fromkeys(split_source(source or "")):
            found = self.resolve(key, section)
            if found is None:
                citations.append(Citation(key, section, inferred, False))
            else:
                citations.append(Citation(key, section, inferred, True, found["title"], found["version"], found["url"]))
        return citations

    def text(self, source: str) -> str:
        return "; ".join(c.text() for c in self.cite(source))

    def unknown_keys(self, source: str) -> list[str]:
        return [c.key for c in self.cite(source) if not c.known]


def _literal_prefix(pattern) -> str:
    """The plain characters a `^…` pattern starts with (`^PyPI:(?P<…` → `PyPI:`); "" when it has
    none, is not anchored, or has a top-level `|` (`^a|^b`: an alternative may start otherwise)."""
    from rknn_envcheck.regex_text import META, top_level_branches

    if not isinstance(pattern, str) or not pattern.startswith("^") or len(top_level_branches(pattern)) > 1:
        return ""
    out = []
    for char in pattern[1:]:
        if char in META:
            if char in "?*{" and out:
                out.pop()  # `^ab?`: the b is optional
            break
        out.append(char)
    return "".join(out)


# A citation written into prose: "(seed §1.7.2 item 1; Table 8-1)", "(rknn_server_proxy.md §4.2)".
# Rendered only when the key is in the registry and what follows it reads as a section (§, Table,
# item, a path) or the key names a commit/issue/wheel: "(NPU driver)" is prose, not a citation.
_PAREN = re.compile(r"\(([^()]*)\)")
_SECTION_LIKE = re.compile(r"^(§|Table|item|items|Fig|README|[A-Za-z0-9_.+-]+/|[A-Za-z0-9_.+-]+\.(md|txt|h|py|sh|toml|pdf)\b|:)")


def render_inline(text: str, registry: "Registry") -> str:
    """Prose with its parenthesised citations rendered as documents (title, version, section) —
    a user never reads a registry key such as `seed` or `AR`. Unknown keys and prose stay as written."""
    if not text or "(" not in text:
        return text
    return _PAREN.sub(lambda m: "(" + _inline_group(m.group(1), registry) + ")", text)


def _inline_group(group: str, registry: "Registry") -> str:
    parts = []
    for part in group.split("; "):
        inferred = part.startswith(INFERRED)
        body = part[len(INFERRED):] if inferred else part
        key, _, section = body.partition(" ")
        if key in ("", "inferred") or not (section == "" and ("@" in key or "#" in key or key.endswith(".md"))
                                           or (section and _SECTION_LIKE.match(section))):
            parts.append(part)
            continue
        found = registry.resolve(key, section)
        if found is None:
            parts.append(part)
            continue
        citation = Citation(key, section, inferred, True, found["title"], found["version"], "")
        parts.append(citation.text())
    return "; ".join(parts)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The shipped registry, for renderers given no matrix: the matrix is usually loaded already
    in this process (lru-cached), else it comes from the marshal cache."""
    from rknn_envcheck.matrix import load_matrix

    try:
        return Registry.from_matrix(load_matrix())
    except UsageError:
        return Registry([], [])


def sources_doc(registry: Registry) -> str:
    """docs/sources.md, generated from matrices/documents.toml (scripts/gen_sources_doc.py)."""
    lines = ["# Sources", "",
             "Every expectation rknn-envcheck states names the vendor document it comes from. This page is generated",
             "from `matrices/documents.toml` by `scripts/gen_sources_doc.py`; do not edit it by hand.", "",
             "A `source` in the matrices is `KEY SECTION` (several separated by `; `), or `inferred from KEY SECTION`",
             "where the fact is our own derivation from that document. Reports show the title, version, section and",
             "URL below.", "", "## Documents", "", "| key | title | version | date | URL |", "|---|---|---|---|---|"]
    for key in sorted(registry.documents, key=str.lower):
        row = registry.documents[key]
        lines.append(f"| `{key}` | {row['title']} | {row.get('version', '')} | {row.get('date', '')} | <{row['url']}> |")
    lines += ["", "## Families (keys with a parameter)", "", "| key | title | URL |", "|---|---|---|"]
    for _pattern, row in registry.families:
        lines.append(f"| `{row.get('key', row['pattern'])}` | {row['title']} | `{row['url']}` |")
    return "\n".join(lines) + "\n"
