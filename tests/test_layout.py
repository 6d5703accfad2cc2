"""The layout's rules, checked on the source tree (issue 17).

Packages sit in layers, dsp < corpus < {resgan, wavenet} < {audiornn, separation,
cnnvocoder, wavegan} < tools: a module imports only its own package and lower layers, never a root
script; files stay readable (under ~450 lines, functions under ~100 unless their
docstring says why); every numbered stage script answers --help.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYER = {"dsp": 0, "corpus": 1, "resgan": 2, "wavenet": 2,
         "audiornn": 3, "separation": 3, "cnnvocoder": 3, "wavegan": 3, "tools": 4}
NOT_INSTALLED = {"tools"}   # run from the checkout (python -m tools.launch), like the root scripts
ROOT_SCRIPTS = {"get_mfcc", "data_utils", "models", "train", "synthesize"}
STAGE_SCRIPTS = sorted([*ROOT.glob("0*.sh"), ROOT / "run.sh",
                        *ROOT.glob("*/0*.sh"), *ROOT.glob("*/run.sh")])


def _python_files():
    for package in LAYER:
        yield from sorted((ROOT / package).rglob("*.py"))


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", list(_python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_package_imports_respect_the_layers(path):
    package = path.relative_to(ROOT).parts[0]
    tree = ast.parse(path.read_text())
    for module in _imported_modules(tree):
        top = module.split(".")[0]
        assert top not in ROOT_SCRIPTS, f"{path}: imports the root script {module}"
        assert not top.startswith("resgan_"), f"{path}: imports the old module {module}"
        if top in LAYER and top != package:
            assert LAYER[top] < LAYER[package], \
                f"{path}: {package} (layer {LAYER[package]}) imports {module} (layer {LAYER[top]})"


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles():
    modules = {_module_name(p): p for p in _python_files()}
    graph = {name: sorted({m for m in _imported_modules(ast.parse(path.read_text()))
                           if m in modules and m != name})
             for name, path in modules.items()}
    state = {}

    def visit(name, trail):
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", "import cycle: " + " -> ".join(trail + [name])
        state[name] = "open"
        for dep in graph[name]:
            visit(dep, trail + [name])
        state[name] = "done"

    for name in graph:
        visit(name, [])


def test_no_module_getattr_reexports_or_path_inserts():
    for path in [*_python_files(), *ROOT.glob("*.py")]:
        text = path.read_text()
        module_functions = {n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in module_functions, f"{path}: module-level __getattr__ re-exports"
        assert "sys.path.insert" not in text, path


def test_files_and_functions_stay_readable():
    too_long = []
    for path in [*_python_files(), *ROOT.glob("*.py")]:
        text = path.read_text()
        if text.count("\n") > 460:
            too_long.append(f"{path}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if length > 100 and "long because" not in doc:
                    too_long.append(f"{path}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)


def test_root_scripts_are_not_installed_as_top_level_modules(tmp_path):
    """`pip install -e .` must not put `models`, `train`, ... into site-packages."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = ("import importlib.util as u, sys; "
             "print([m for m in %r if u.find_spec(m)])" % sorted([*ROOT_SCRIPTS, *LAYER]))
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == repr(sorted(set(LAYER) - NOT_INSTALLED)), \
        f"outside the checkout, exactly the packages must be importable: {out}"


@pytest.mark.parametrize("script", STAGE_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_stage_script_answers_help_and_refuses_unknown_options(script):
    done = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--stage" in done.stdout or "stage" in done.stdout.lower(), done.stdout
    bad = subprocess.run(["bash", str(script), "--no_such_option", "1"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--no_such_option" in bad.stderr
