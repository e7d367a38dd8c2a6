"""Progress: kept per user in the data directory (REDISLAB_HOME), exported and imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import ROOT

from redislab.lab.progress import Progress, ProgressError, data_dir


def test_lives_in_redislab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDISLAB_HOME", str(tmp_path / "home"))
    assert data_dir() == (tmp_path / "home").resolve()
    p = Progress()
    p.step_done("master-two-replicas", 0, 12)
    assert (tmp_path / "home" / "progress.json").exists()
    assert Progress().get("master-two-replicas").done == {0}


def test_steps_resume_and_completion(tmp_path: Path) -> None:
    p = Progress(tmp_path / "p.json", user="ana")
    assert p.resume_at("chained-replication") == 0
    p.step_done("chained-replication", 0, 3)
    p.step_done("chained-replication", 1, 3)
    assert p.resume_at("chained-replication") == 2
    assert p.get("chained-replication").label() == "2/3"
    p.step_done("chained-replication", 2, 3)
    again = Progress(tmp_path / "p.json")
    got = again.get("chained-replication")
    assert got.completed and got.label() == "done" and again.user == "ana"
    again.reset("chained-replication")
    assert Progress(tmp_path / "p.json").resume_at("chained-replication") == 0


def test_export_and_import_merge(tmp_path: Path) -> None:
    ana = Progress(tmp_path / "ana.json", user="ana")
    ana.step_done("manual-promotion", 0, 7)
    ana.step_done("manual-promotion", 1, 7)
    for i in range(6):
        ana.step_done("full-vs-partial-resync", i, 6)
    exported = ana.export(tmp_path / "ana-export.json")
    doc = json.loads(exported.read_text())
    assert doc["format"] == "redislab-progress" and doc["user"] == "ana"

    other = Progress(tmp_path / "lab-pc.json", user="ana")
    other.step_done("manual-promotion", 4, 7)
    ids = other.import_file(exported)
    assert ids == ["full-vs-partial-resync", "manual-promotion"]
    merged = Progress(tmp_path / "lab-pc.json")
    assert merged.get("manual-promotion").done == {0, 1, 4}
    assert merged.get("full-vs-partial-resync").completed

    merged.import_file(exported, replace=True)
    assert Progress(tmp_path / "lab-pc.json").get("manual-promotion").done == {0, 1}


def test_bad_files_are_refused(tmp_path: Path) -> None:
    p = Progress(tmp_path / "p.json")
    bad = tmp_path / "bad.json"
    for text in ("not json", json.dumps({"format": "other"}),
                 json.dumps({"format": "redislab-progress", "version": 99, "lessons": {}}),
                 json.dumps({"format": "redislab-progress", "version": 1,
                             "lessons": {"x": {"done": ["a"]}}})):
        bad.write_text(text)
        with pytest.raises(ProgressError):
            p.import_file(bad)


def test_a_damaged_store_is_kept_aside(tmp_path: Path) -> None:
    store = tmp_path / "p.json"
    store.write_text("{broken")
    p = Progress(store)
    assert p.lessons == {}
    assert list(tmp_path.glob("p.damaged-*.json"))


def test_cli_export_import(tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    env = {**__import__("os").environ, "REDISLAB_HOME": str(env_home)}
    Progress(env_home / "progress.json").step_done("manual-promotion", 0, 7)
    out = tmp_path / "mine.json"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "redislab", "lesson", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)

    assert cli("export", str(out)).returncode == 0 and out.exists()
    assert cli("reset", "--all").returncode == 0
    assert "1/7" not in cli("list", "--lang", "en").stdout
    res = cli("import", str(out))
    assert res.returncode == 0 and "manual-promotion" in res.stdout
    listing = cli("list", "--lang", "en").stdout
    assert "manual-promotion" in listing and "1/7" in listing
