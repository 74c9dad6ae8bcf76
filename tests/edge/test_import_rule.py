"""The device imports little: edge/ and its CLI work with the training stack made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

FORBIDDEN = ("tensorflow", "keras", "librosa", "scipy", "sklearn", "pandas", "matplotlib", "python_speech_features", "soundfile")

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    FORBIDDEN = {FORBIDDEN!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"{{name}} is forbidden on the device")
    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_every_edge_module_imports_without_the_training_stack():
    proc = _run(
        """
        import pkgutil, importlib, ser_edge
        for info in pkgutil.walk_packages(ser_edge.__path__, "ser_edge."):
            importlib.import_module(info.name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
        print("LOADED", loaded)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


def test_cli_classifies_with_the_default_model_without_the_training_stack(tmp_path):
    import numpy as np

    from ..wavgen import write_wav

    t = np.arange(32000) / 16000
    wav = write_wav(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)))
    proc = _run(
        f"""
        sys.argv = ["ser-edge", "classify", "--json", {str(wav)!r}]
        from ser_edge.cli import main
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert '"label"' in proc.stdout and "LOADED []" in proc.stdout


def test_blocker_really_blocks():
    proc = _run("import scipy")
    assert proc.returncode != 0 and "forbidden on the device" in proc.stderr
