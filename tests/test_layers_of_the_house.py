"""Imports run one way: library (tfq_ssl) ← models ← entry points (train, convert, bench).

train/ and convert/ never import each other, bench/ uses no train/ module (it measures
the library and the converter), nothing imports bench/, no module takes
another file's underscore names (tests of a module may), and reading a config or a
run folder loads no TensorFlow.
"""

import ast
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

PACKAGES = ("tfq_ssl", "models", "train", "convert", "bench")
FORBIDDEN = {
    "tfq_ssl": {"models", "train", "convert", "bench"},
    "models": {"train", "convert", "bench"},
    "train": {"convert", "bench"},
    "convert": {"train", "bench"},
    "bench": {"train"},
}


def _modules():
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    yield package, os.path.relpath(path, ROOT), ast.parse(open(path).read())


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [a.name for a in node.names]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_towards_the_library(package):
    wrong = [(path, module) for pkg, path, tree in _modules() if pkg == package
             for module, _ in _imports(tree) if module.split(".")[0] in FORBIDDEN[package]]
    assert wrong == []


def test_no_module_imports_another_files_private_names():
    wrong = [(path, module, name) for _, path, tree in _modules()
             for module, names in _imports(tree) if module.split(".")[0] in PACKAGES
             for name in names if name.startswith("_")]
    assert wrong == []


def test_no_test_imports_another_test_file():
    wrong = []
    for folder, _, files in os.walk(os.path.join(ROOT, "tests")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                for module, _ in _imports(ast.parse(open(path).read())):
                    if module.startswith("tests.") and not module.startswith("tests.helpers"):
                        wrong.append((os.path.relpath(path, ROOT), module))
    assert wrong == []


def test_reading_a_config_or_a_run_folder_loads_no_tensorflow():
    script = ("import sys; from tfq_ssl import config, rundir, cli; from train import presets\n"
              "print('tensorflow' in sys.modules, 'cirq' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
