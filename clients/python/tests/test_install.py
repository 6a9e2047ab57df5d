"""`pip install ./clients/python` works offline into a fresh virtual environment
that sees the system's numpy and requests (Debian's python3-numpy and
python3-requests), and the installed package imports from there.
"""
import os
import shutil
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))


def test_pip_install_offline(tmp_path):
    # A copy of the package: pip builds in its source tree, which must stay clean.
    source = tmp_path / "src"
    shutil.copytree(os.path.join(HERE, ".."), source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--disable-pip-version-check", "-q", str(source)]
    r = subprocess.run(pip, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([python, "-c", "import faiss_proxy, numpy, requests; print(faiss_proxy.__file__)"], capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(env_dir)), r.stdout
