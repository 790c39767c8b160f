"""What the documentation promises: the type stub of the native module matches its
signatures, and the docstrings claim what the functions do."""

import ast
import inspect
import pathlib

import numpy as np

import simlanes
from simlanes import _simlanes

STUB = pathlib.Path(__file__).resolve().parents[1] / "python" / "simlanes" / "_simlanes.pyi"


def _stub_functions():
    tree = ast.parse(STUB.read_text(), filename=str(STUB))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _stub_parameters(fn):
    """``[(name, kind, default)]`` of a stub ``def`` (``default`` is ``inspect.Parameter.empty``
    where there is none)."""
    a = fn.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(a.defaults)) + [
        ast.literal_eval(d) for d in a.defaults
    ]
    for arg, d in zip(positional, defaults):
        out.append((arg.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, d))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty if d is None else ast.literal_eval(d)))
    return out


def test_stub_matches_every_native_signature():
    stub = _stub_functions()
    native = {
        name: f for name, f in vars(_simlanes).items() if callable(f) and not name.startswith("_") and not isinstance(f, type)
    }
    assert set(stub) == set(native)
    wrong = []
    for name, f in native.items():
        got = [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
        want = _stub_parameters(stub[name])
        if [(n, k) for n, k, _ in got] != [(n, k) for n, k, _ in want]:
            wrong.append((name, "parameters", [n for n, _, _ in got], [n for n, _, _ in want]))
            continue
        for (pname, _, g), (_, _, w) in zip(got, want):
            # pyo3 writes a non-literal default as `...`; every default here is a literal.
            if g is Ellipsis or g != w or type(g) is not type(w):
                wrong.append((name, pname, g, w))
    assert not wrong, "native vs stub: " + "; ".join(map(str, wrong))


def test_ou_path_last_column_equals_ou_final_without_chunks_only():
    doc = " ".join(simlanes.ou_path.__doc__.split())
    assert "With ``chunks=None`` (sequential)" in doc and "bit for bit" in doc
    assert "may differ in the last bits" in doc
    path = simlanes.ou_path(8, 1000, seed=3)
    final = simlanes.ou_final(8, 1000, seed=3)
    assert np.array_equal(path[:, -1], final)
    # With chunks: both close to the sequential result (the bounds are ~1e-12 here).
    chunked_path = simlanes.ou_path(8, 1000, seed=3, chunks=8)[:, -1]
    chunked_final = simlanes.ou_final(8, 1000, seed=3, chunks=8)
    assert np.allclose(chunked_path, final, rtol=0, atol=1e-10)
    assert np.allclose(chunked_final, final, rtol=0, atol=1e-10)


def test_module_doc_says_which_functions_take_backend_and_threads():
    doc = " ".join(simlanes.__doc__.split())
    assert "Every function takes ``backend=``" not in doc
    assert "the ``jax_*`` helpers take neither" in doc
    for name in simlanes.__all__:
        f = getattr(simlanes, name)
        if not inspect.isfunction(f) or name in ("run_tile", "merge_tiles"):
            continue
        params = inspect.signature(f).parameters
        takes = "backend" in params and "threads" in params
        assert takes == (not name.startswith("jax_")), name
