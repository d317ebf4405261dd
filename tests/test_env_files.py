""".env is found next to the project as well as in the working directory."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot import config
from bot.config import ENV_FILES, PROJECT_ROOT, Settings, load_settings


def test_project_env_is_read_first_then_the_working_directory(tmp_path):
    # tests/conftest.py points the first entry elsewhere during tests, so look at a fresh import.
    code = "from bot.config import Settings; print(repr(Settings.model_config['env_file']))"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == repr(ENV_FILES) and ENV_FILES == (PROJECT_ROOT / ".env", ".env")
    assert (PROJECT_ROOT / "bot" / "config.py").is_file()


def test_project_env_applies_from_any_directory_and_cwd_wins(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".env").write_text("ANTHROPIC_API_KEY=from-project\nANTHROPIC_MODEL=project-model\nREDIS_PREFIX=proj\n")
    monkeypatch.setitem(Settings.model_config, "env_file", (project / ".env", ".env"))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_MODEL", "REDIS_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(elsewhere)
    s = load_settings("console")
    assert s.anthropic_api_key.get_secret_value() == "from-project" and s.anthropic_model == "project-model"
    (elsewhere / ".env").write_text("ANTHROPIC_MODEL=cwd-model\n")
    s = load_settings("console")
    assert s.anthropic_model == "cwd-model" and s.redis_prefix == "proj"
    monkeypatch.setenv("ANTHROPIC_MODEL", "env-model")
    assert load_settings("console").anthropic_model == "env-model"


def test_a_missing_project_env_is_fine(tmp_path, monkeypatch):
    monkeypatch.setitem(Settings.model_config, "env_file", (tmp_path / "nope" / ".env", ".env"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert load_settings("console").redis_prefix == "ib"
    assert isinstance(config.PROJECT_ROOT, Path)
