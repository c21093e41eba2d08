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


def _code(text: str) -> list[str]:
    """The README's commands and code: each line of a fenced block (continuation lines joined),
    and each inline code span (a span broken across lines joined)."""
    fenced = re.compile(r"```[^\n]*\n(.*?)```", re.S)
    lines = [line for block in fenced.findall(text)
             for line in block.replace("\\\n", " ").splitlines()]
    return lines + [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", fenced.sub("", text))]


def test_the_benchmark_commands_it_quotes_take_the_options_it_gives():
    """Every `python benchmarks/NAME.py --option ...` in the README names options of that script
    (its own, or those it takes from _common.py and, for queen_gates.py, queen.py)."""
    benchmarks = README.parent / "benchmarks"
    shared = (benchmarks / "_common.py").read_text() + (benchmarks / "queen.py").read_text()
    quoted = [(m.group(1), re.findall(r"(?<!\S)--[\w-]+", m.group(2))) for line in _code(README.read_text())
              for m in re.finditer(r"python\s+benchmarks/(\w+)\.py\b(.*)", line)]
    assert len(quoted) > 10, quoted
    for name, options in quoted:
        if name == "X":  # "python benchmarks/X.py": any of them
            continue
        source = (benchmarks / f"{name}.py").read_text() + shared
        unknown = [o for o in options if f'"{o}"' not in source]
        assert not unknown, f"README: benchmarks/{name}.py has no option {unknown}"


def test_the_first_look_runs_as_written():
    """The README's first Python example, run as it stands (it needs no data)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    names: dict = {}
    exec(compile(blocks[0], "README.md: A first look", "exec"), names)
    assert names["g"].num_edges == 3 and names["keep"].tolist() == [False, True, True]
    assert names["h"].num_edges == 2


def test_the_sparsebox_commands_it_quotes_take_the_options_it_gives():
    """Every `sparsebox GROUP COMMAND --option ...` in the README names options of that command."""
    from sparsebox.cli import _LazyGroup, command

    def resolve(words: list[str]):
        cmd = command()
        for word in words:
            group = cmd._load() if isinstance(cmd, _LazyGroup) else cmd
            if not hasattr(group, "get_command"):  # a command, not a group (typer's own click)
                break
            # `sparsebox stream GRAPH ...` is `sparsebox stream run GRAPH ...`
            cmd = group.get_command(None, word) or group.get_command(None, "run") or group
            if cmd is group:
                break
        return cmd._load() if isinstance(cmd, _LazyGroup) else cmd

    quoted = [m.group(1) for line in _code(README.read_text())
              for m in re.finditer(r"(?<![\w/.-])sparsebox\s+((?:[a-z][\w-]*\s*)*.*)", line)]
    assert len(quoted) > 20, quoted
    for line in quoted:
        words = line.split("--")[0].split()
        cmd = resolve(words)
        known = {"--help", *(o for p in cmd.params for o in (*p.opts, *p.secondary_opts))}
        unknown = [o for o in re.findall(r"(?<![\w-])--[\w-]+", line) if o not in known]
        assert not unknown, f"README: `sparsebox {line}`: {cmd.name} has no option {unknown}"


def test_the_column_mask_recipe_runs_as_written():
    """The recipe that turns a structure method's mask into one over a PyG Data's columns, run
    in a fresh namespace with only ``data`` given (its import of as_structure was missing)."""
    from torch_geometric.datasets import KarateClub

    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
              if "keep_edge_columns(data" in b]
    assert len(blocks) == 1
    data = KarateClub()[0]
    names: dict = {"data": data}
    exec(compile(blocks[0], "README.md: column-mask recipe", "exec"), names)
    pruned = names["pruned"]
    assert pruned.edge_index.shape[1] == 2 * names["est"].mask_.sum()

