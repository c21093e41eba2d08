"""``python -m sparsebox``: the command line."""

from sparsebox.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
