"""A plain (non-editable) install of the course library carries its data and stored solutions."""
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ["bundled/fashion_mnist_small.npz", "bundled/fashion_base.keras",
          "checks/solutions/lesson03.json", "grading/agent.py"]


def build(kind: str, out: Path) -> Path:
    code = (f"import sys; from setuptools import build_meta; "
            f"print(build_meta.build_{kind}(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


def test_the_wheel_holds_the_data_and_the_solution_store(tmp_path):
    names = zipfile.ZipFile(build("wheel", tmp_path)).namelist()
    missing = [n for n in NEEDED if f"utils/{n}" not in names]
    assert not missing, missing


def test_the_sdist_holds_the_data_and_the_solution_store(tmp_path):
    names = tarfile.open(build("sdist", tmp_path)).getnames()
    wanted = ["data/fashion_mnist_small.npz", "data/fashion_base.keras",
              "utils/checks/solutions/lesson03.json"]
    missing = [w for w in wanted if not any(n.endswith(w) for n in names)]
    assert not missing, missing
