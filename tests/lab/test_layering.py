"""redislab.lab sits above the backends: it never imports textual nor the engine."""

from __future__ import annotations

import ast
import subprocess
import sys

from labtools import ROOT

LAB = ROOT / "redislab" / "lab"


def test_no_forbidden_imports_in_the_source() -> None:
    for path in LAB.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                names = [("." * node.level) + mod]
            for name in names:
                assert not name.startswith("textual"), f"{path.name} imports {name}"
                assert "engine" not in name.split("."), f"{path.name} imports {name}"


def test_nothing_forbidden_is_loaded_at_run_time() -> None:
    code = ("import sys; import redislab.lab, redislab.lab.runner, redislab.lab.checks, "
            "redislab.lab.progress, redislab.lab.bulk; "
            "from redislab.backends import backend_class; "
            "[backend_class(n) for n in ('engine', 'process', 'docker')]; "
            "bad = [m for m in sys.modules if m.startswith(('textual', 'redislab.engine'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
