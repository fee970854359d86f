#!/usr/bin/python3
"""Print FILE::FUNCTION for every top-level test_* function in DIR/test_*.py.

Meson runs this at configure time to register one test per function; it uses
ast only, so configuring does not need pytest.
"""

import ast
import pathlib
import sys

seen = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("test_*.py")):
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            if node.name in seen:
                sys.exit(f"{path.name}: {node.name} also in {seen[node.name]}; "
                         "Meson test names must be unique")
            seen[node.name] = path.name
            print(f"{path.name}::{node.name}")
