"""Shipped bundles by name ("default", "4class": any models/<name>/ with a manifest.json) or a
folder, in `resolve_bundle` and through every entry point: classify, info, config, the API."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner

from ser_edge import api
from ser_edge.cli import main
from ser_edge.errors import BundleError
from ser_edge.events import EmotionEvent
from ser_edge.listen.pipeline import Pipeline
from ser_edge.listen.recognizer import Recognizer
from ser_edge.model import shipped
from ser_edge.model.bundle import manifest_digest
from ser_edge.model.shipped import default_bundle_path, resolve_bundle, shipped_bundles

REPO = Path(__file__).resolve().parents[3]
ANGRY = "ravdess/Actor_01/03-01-05-02-01-01-01.flac"


def bundle_copy(into: Path, model_id: str) -> Path:
    """A copy of the shipped default under another model id, its manifest re-stamped."""
    folder = Path(shutil.copytree(REPO / "models" / "default", into))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["id"] = model_id
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models/ folder with "default", "4class" and a folder that is no bundle."""
    root = tmp_path_factory.mktemp("models")
    bundle_copy(root / "default", "test-default")
    bundle_copy(root / "4class", "test-4class")
    (root / "notes").mkdir()
    return root


@pytest.fixture
def shipped_here(models_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `models_root` the only place shipped bundles are looked for."""
    monkeypatch.setattr(shipped, "shipped_roots", lambda: [models_root])
    monkeypatch.delenv("SER_EDGE_MODEL", raising=False)
    api._recognizer.cache_clear()
    yield models_root
    api._recognizer.cache_clear()


def test_the_shipped_bundles_are_the_folders_with_a_manifest(models_root: Path, tmp_path: Path) -> None:
    assert shipped_bundles([models_root]) == {"4class": models_root / "4class", "default": models_root / "default"}
    other = tmp_path / "other"
    bundle_copy(other / "4class", "shadowed")
    assert shipped_bundles([models_root, other])["4class"] == models_root / "4class"  # the first root wins
    assert shipped_bundles([tmp_path / "nowhere"]) == {}


def test_the_checkout_ships_default() -> None:
    assert shipped_bundles()["default"] == REPO / "models" / "default"


def test_names_and_folders_resolve(models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_bundle("4class", [models_root]) == models_root / "4class"
    assert resolve_bundle(models_root / "4class", [models_root]) == models_root / "4class"
    mine = bundle_copy(tmp_path / "4class", "mine")
    monkeypatch.chdir(tmp_path)
    assert resolve_bundle("4class", [models_root]) == Path("4class")  # a folder that exists wins
    assert resolve_bundle(str(mine), [models_root]) == mine


def test_none_and_empty_mean_the_default(shipped_here: Path) -> None:
    assert resolve_bundle(None) == resolve_bundle("") == default_bundle_path() == shipped_here / "default"


def test_an_unknown_name_lists_the_shipped_ones(models_root: Path) -> None:
    with pytest.raises(BundleError, match=r"^7class: no model bundle there and no shipped bundle of that name "
                                          r"\(shipped: 4class, default\)$"):
        resolve_bundle("7class", [models_root])
    with pytest.raises(BundleError, match=r"^\./4class: no model bundle there \(expected a folder with "
                                          r"model.tflite and manifest.json; shipped bundles by name: 4class, default\)"):
        resolve_bundle("./4class", [models_root])  # a path, not a name: not looked up
    with pytest.raises(BundleError, match=r"shipped: none found"):
        resolve_bundle("default", [])


def test_the_environment_may_name_a_shipped_bundle(shipped_here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SER_EDGE_MODEL", "4class")
    assert default_bundle_path() == shipped_here / "4class"
    assert Recognizer().bundle.model_id == "test-4class"
    monkeypatch.setenv("SER_EDGE_MODEL", "5class")
    with pytest.raises(BundleError, match=r"\$SER_EDGE_MODEL='5class': .*shipped: 4class, default"):
        default_bundle_path()


def test_recognizer_pipeline_and_api_take_a_name(shipped_here: Path, data_dir: Path) -> None:
    assert Recognizer("4class").bundle.model_id == "test-4class"
    assert Pipeline("4class").classifier.bundle.model_id == "test-4class"
    assert api.classify(data_dir / ANGRY, model="4class").label == api.classify(data_dir / ANGRY).label
    events = [e for e in api.iter_events(data_dir / ANGRY, model="4class") if isinstance(e, EmotionEvent)]
    assert events and {e.model.id for e in events} == {"test-4class"}


def test_cli_classify_and_info_take_a_name(shipped_here: Path, data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["info", "4class"])
    assert result.exit_code == 0, result.output
    assert "test-4class" in result.output and str(shipped_here / "4class") in result.output
    result = CliRunner().invoke(main, ["classify", "--json", "-m", "4class", str(data_dir / ANGRY)])
    assert result.exit_code == 0 and json.loads(result.output.strip().splitlines()[-1])["label"]
    listed = CliRunner().invoke(main, ["info", "--list"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["4class", "default"] and "test-4class" in lines[0]


def test_cli_refuses_an_unknown_name_in_one_line(shipped_here: Path, data_dir: Path) -> None:
    result = CliRunner().invoke(main, ["classify", "-m", "9class", str(data_dir / ANGRY)])
    assert result.exit_code == 78
    assert "9class: no model bundle there and no shipped bundle of that name (shipped: 4class, default)" \
        in result.output
    assert "Traceback" not in result.output


def test_the_config_file_takes_a_name(shipped_here: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[model]\npath = "4class"\n')
    result = CliRunner().invoke(main, ["config", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert "model test-4class" in result.output
    config.write_text('[model]\npath = "nine"\n')
    result = CliRunner().invoke(main, ["config", "check", str(config)])
    assert result.exit_code == 78 and "shipped: 4class, default" in result.output


def test_the_wheel_takes_every_file_of_every_shipped_bundle() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["ser_edge.models"] == "models" and "ser_edge.models" in config["packages"]
    patterns = config["package-data"]["ser_edge.models"]
    bundles = [d for d in (REPO / "models").iterdir() if (d / "manifest.json").is_file()]
    assert bundles
    for folder in bundles:
        for file in folder.iterdir():
            relative = PurePosixPath(folder.name, file.name)
            assert any(relative.match(p) for p in patterns), f"{relative} would not be in the wheel ({patterns})"
    for name in ("4class", "any_name"):  # a bundle added later is covered without editing pyproject
        for file in ("model.tflite", "manifest.json", "confusion.png"):
            assert any(PurePosixPath(name, file).match(p) for p in patterns)
