"""The README's table of methods is the registry's (regenerate it with `sparsebox methods
--markdown`)."""

import re
from pathlib import Path

from sparsebox.registry import methods_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_methods_table_is_generated_from_the_registry():
    text = README.read_text()
    found = re.search(r"<!-- methods:begin[^\n]*-->\n(.*?)<!-- methods:end -->", text, re.S)
    assert found, "README.md lost its methods:begin / methods:end markers"
    assert found.group(1) == methods_markdown(), (
        "README.md's method table is stale: replace it with `sparsebox methods --markdown`")
