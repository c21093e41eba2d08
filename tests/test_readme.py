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



def _free_names(block: str) -> set[str]:
    """The names a Python block reads but neither imports nor assigns (builtins aside)."""
    import ast
    import builtins

    stored, loaded = set(), set()
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store | ast.Del) else loaded).add(node.id)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            stored.add(node.name)
    return loaded - stored - set(dir(builtins))


def test_every_python_example_imports_what_it_uses():
    """A reader copies a block as it stands: every name it uses is imported or assigned in it, but
    for the reader's own objects the text names (the GTSP loop's `torch` import was missing)."""
    yours = {"keep_edge_columns(data": {"data"},  # "data: a PyG Data"
             "GTSPStrategy(": {"loader", "epochs", "batches", "task_loss"}}  # "your loop"
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S):
        given = set().union(*(names for key, names in yours.items() if key in block))
        assert _free_names(block) <= given, f"README block {block.splitlines()[0]!r} uses " \
                                            f"{sorted(_free_names(block) - given)} without defining them"


def test_the_deletion_rounds_it_states_are_the_code_s():
    """The dyGRASS bullet's rule for the refinement rounds of a deletion batch gives the rounds
    graphsparse.dynamic takes (it said "at least 3 rounds" after batches of few edges got fewer)."""
    from graphsparse.dynamic import _deletion_rounds

    text = " ".join(README.read_text().split())
    rule = re.search(r"in rounds of at most (\d+) edges, at least (\d+) \(one per (\d+) edges where a "
                     r"batch adds fewer than (\d+)\)", text)
    assert rule, "README.md lost the dyGRASS bullet's rule for deletion rounds"
    most, least, small, below = map(int, rule.groups())
    for take in range(1, 400):
        said = -(-take // small) if take < below else max(least, -(-take // most))
        assert said == _deletion_rounds(take), (take, said, _deletion_rounds(take))


def test_the_commands_of_the_records_it_cites_are_quoted_in_full():
    """Every `python benchmarks/X.py ... --out benchmarks/results...` that a record README cites
    names as its command appears in the README as it stands, so a reader can run it again (the
    scale-out walks came from a `--parts walks costs --update` run the README did not name)."""
    text = README.read_text()
    code = {" ".join(c.split()) for c in _code(text)}
    cited = sorted(set(re.findall(r"benchmarks/results/[\w/.-]+\.md", " ".join(text.split()))))
    assert len(cited) > 10, cited
    for rel in cited:
        record = README.parent / rel
        assert record.is_file(), f"README cites {rel}, which is not there"
        for command in re.findall(r"`(python benchmarks/\w+\.py[^`]*)`", record.read_text()):
            command = " ".join(command.split())
            if "--out benchmarks/results" in command:
                assert any(command in c for c in code), f"{rel}'s command `{command}` is not in README"
