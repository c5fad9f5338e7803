"""The package as a user gets it: `cmake --install` puts an importable emofuse into the
interpreter's site-packages layout under the prefix; every public function is documented."""
import inspect
import os
import subprocess
import sys

import pytest

import emofuse


def public_callables():
    for module in (emofuse, emofuse.metrics, emofuse.csd, emofuse.fusion, emofuse.models):
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if callable(value):
                yield f"{module.__name__}.{name}", value
                if inspect.isclass(value):
                    for attr, member in vars(value).items():
                        if not attr.startswith("_") and callable(member):
                            yield f"{module.__name__}.{name}.{attr}", member
    for sub in (emofuse._core.metrics, emofuse._core.align, emofuse._core.fusion,
                emofuse._core.models):
        for name, value in vars(sub).items():
            if not name.startswith("_") and callable(value):
                yield f"{sub.__name__}.{name}", value


@pytest.mark.parametrize("name,function", list(public_callables()))
def test_every_function_has_a_docstring(name, function):
    assert inspect.getdoc(function), f"{name} has no docstring"


def test_stubs_are_shipped():
    package = os.path.dirname(emofuse.__file__)
    assert os.path.exists(os.path.join(package, "_core.pyi"))
    assert os.path.exists(os.path.join(package, "py.typed"))


def test_cmake_install_puts_an_importable_package_under_the_prefix(tmp_path):
    build = os.environ.get("EMOFUSE_BUILD_DIR")
    if not build:
        pytest.skip("EMOFUSE_BUILD_DIR unset (run through CTest)")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", build, "--prefix", str(prefix), "--component", "python"],
                   check=True, capture_output=True)
    found = [root for root, dirs, files in os.walk(prefix) if "__init__.py" in files
             and os.path.basename(root) == "emofuse"]
    assert len(found) == 1, found
    site = os.path.dirname(found[0])
    assert os.path.basename(site) in ("site-packages", "dist-packages")
    code = ("import emofuse, numpy as np; "
            "r = emofuse.metrics.regression(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0])); "
            "print(emofuse.__file__, r['metrics']['mae'])")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": site},
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    installed_file, mae = done.stdout.split()
    assert installed_file.startswith(str(prefix))
    assert float(mae) == pytest.approx(1 / 3)


def test_metrics_stub_declares_every_public_name_and_option():
    import ast

    path = os.path.join(os.path.dirname(emofuse.metrics.__file__), "metrics.pyi")
    with open(path, encoding="utf-8") as stream:
        tree = ast.parse(stream.read())
    declared = {node.name: node for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    declared.update({t.id: None for node in tree.body if isinstance(node, ast.AnnAssign)
                     for t in [node.target]})
    assert set(emofuse.metrics.__all__) <= set(declared)
    evaluate_options = {a.arg for a in declared["evaluate"].args.kwonlyargs}
    assert evaluate_options == set(inspect.signature(emofuse.metrics.evaluate).parameters) - {
        "suite", "pred", "truth"}
    for name in emofuse.metrics.SUITES:
        options = {a.arg for a in declared[name].args.kwonlyargs}
        assert options <= evaluate_options, name
