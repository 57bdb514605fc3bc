"""The README's test command is the one CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci if "pytest" in line and not line.startswith("#"))
    readme = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert command.strip() in readme
