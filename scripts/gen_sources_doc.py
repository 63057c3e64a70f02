#!/usr/bin/env python3
"""Regenerate docs/sources.md from matrices/documents.toml (the registry of cited documents)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rknn_envcheck.citations import Registry, sources_doc  # noqa: E402
from rknn_envcheck.matrix import load_matrix  # noqa: E402

if __name__ == "__main__":
    text = sources_doc(Registry.from_matrix(load_matrix(ROOT / "matrices")))
    (ROOT / "docs" / "sources.md").write_text(text, encoding="utf-8")
    print("wrote docs/sources.md")
