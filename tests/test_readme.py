"""The README's test command is the one CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci if "pytest" in line and not line.startswith("#"))
    readme = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert command.strip() in readme


def _layout_paths() -> set[str]:
    """The backticked paths in the first column of the README's Layout table."""
    import re

    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {p.rstrip("/") for row in rows for p in re.findall(r"`([^`]+)`", row)}


def test_the_layout_table_names_every_top_level_folder_and_only_paths_that_exist():
    import subprocess

    tracked = subprocess.run(["git", "ls-tree", "--name-only", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    listed = _layout_paths()
    folders = {name for name in tracked if (ROOT / name).is_dir()}
    assert folders - {".ci"} <= listed, folders - listed  # .ci is named by its `.ci/run`
    assert not [p for p in listed if not (ROOT / p).exists()]
