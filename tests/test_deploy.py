"""Where users run it: the Space front matter, requirements, and the Dockerfile (no Docker engine here)."""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.cli_inproc import run_cli
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def _env() -> dict[str, str]:
    env = {}
    for op, rest in _instructions():
        if op == "ENV":
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                env[k] = v
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_space_config(folder) -> dict[str, str]:
    """The checks a Space's README front matter must pass (this repository's, and a Space folder fewshot
    exports: tests/test_space.py); returns its settings."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = dict(line.split(": ", 1) for line in text.split("---\n")[1].strip().splitlines())
    assert meta["sdk"] == "gradio" and (folder / meta["app_file"]).is_file()
    import gradio
    assert meta["sdk_version"] == gradio.__version__  # the Space runs the Gradio these tests ran with
    assert meta.get("suggested_hardware")
    return meta


def test_front_matter_is_a_valid_space_config():
    check_space_config(ROOT)


def test_requirements_cover_every_third_party_import():
    reqs = {re.split(r"[<>=\[ ]", line.strip())[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    names = {"PIL": "pillow", "yaml": "pyyaml", "gradio_client": "gradio",  # gradio ships its client
             "sklearn": "scikit-learn", "threadpoolctl": "scikit-learn"}  # threadpoolctl comes with scikit-learn
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "fewshot").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for m in mods:
                top = m.split(".")[0]
                if top not in stdlib and top not in ("fewshot", "spaces"):  # spaces exists only on a Space
                    found.add(names.get(top, top).lower())
    assert found <= reqs, f"imported but not in requirements.txt: {found - reqs}"


def test_dockerfile_copies_existing_files_runs_as_non_root_with_cache_volume():
    ops = _instructions()
    copies = [shlex.split(rest) for op, rest in ops if op == "COPY"]
    for parts in copies:
        srcs = [p for p in parts[:-1] if not p.startswith("--")]
        for s in srcs:
            assert (ROOT / s).exists(), f"Dockerfile copies {s}, which is not in the repo"
    users = [rest for op, rest in ops if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = _env()
    assert env["TORCH_HOME"].startswith("/cache") and any(op == "VOLUME" and "/cache" in rest for op, rest in ops)
    assert any(op == "ARG" and rest.startswith("TORCH_VARIANT=cpu") for op, rest in ops)
    # the build argument picks PyTorch's wheel index: cpu by default, cu128 etc. for CUDA
    assert any(op == "RUN" and "download.pytorch.org/whl/${TORCH_VARIANT}" in rest for op, rest in ops)
    assert any(op == "HEALTHCHECK" for op, rest in ops)
    assert f"EXPOSE {env['FEWSHOT_PORT']}" in DOCKERFILE


def test_docker_command_starts_the_app_from_only_the_copied_files(tmp_path):
    """Lay out what the image holds, run its CMD with its ENV, then run its HEALTHCHECK."""
    ops = _instructions()
    image = tmp_path / "image"
    image.mkdir()
    for parts in [shlex.split(rest) for op, rest in ops if op == "COPY"]:
        srcs, dest = [p for p in parts[:-1] if not p.startswith("--")], parts[-1]
        for s in srcs:
            target = image / (dest if dest not in ("./", ".") else s)
            if (ROOT / s).is_dir():
                shutil.copytree(ROOT / s, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / s, target)
    cmd = json.loads([rest for op, rest in ops if op == "CMD"][-1])
    assert cmd[:2] == ["python", "app.py"]
    port = _free_port()
    env = {**os.environ, **_env(), "FEWSHOT_HOST": "127.0.0.1", "FEWSHOT_PORT": str(port),
           "TORCH_HOME": str(tmp_path / "cache" / "torch"), "FEWSHOT_CACHE_DIR": str(tmp_path / "cache" / "f"),
           "FEWSHOT_DATA_DIR": str(tmp_path / "data")}  # the image's /data volume
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, *cmd[1:]], cwd=image, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(1)
        else:
            pytest.fail("the app did not answer within 120 s")
        health = [rest for op, rest in ops if op == "HEALTHCHECK"][0].split(" CMD ", 1)[1]
        r = subprocess.run(health.replace("python", sys.executable, 1), shell=True, env=env, timeout=30)
        assert r.returncode == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---------------------------------------------------------------- share links, offline weights, model card

def test_share_without_auth_warns_that_the_link_is_public_and_auth_reaches_launch(monkeypatch, capsys):
    """The login itself is checked against a launched app: tests/test_app_robustness.py::test_auth_protects_the_app."""
    import app

    for var in ("FEWSHOT_SHARE", "FEWSHOT_AUTH", "SPACE_ID"):
        monkeypatch.delenv(var, raising=False)
    assert app.parse_args(["--share"]).share
    assert "PUBLIC" in capsys.readouterr().err
    launched = {}

    class Demo:
        def __init__(self, backends=None, owners=None):  # build_app(backends, owners) -> App
            self.owners = owners

        def queue(self, **kw):
            return self

        def launch(self, **kw):
            launched.update(kw)

        def close(self):
            pass

    monkeypatch.setattr(app, "build_app", Demo)
    app.main(["--share", "--auth", "ana:s3cret:x"])
    assert launched["share"] is True and launched["auth"] == ("ana", "s3cret:x")
    assert "PUBLIC" not in capsys.readouterr().err


def _fewshot_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m fewshot ARGS` with `env` set, called in this process (tests/cli_inproc.py)."""
    return run_cli(*args, env=env)


def test_weights_download_offline_names_the_file_and_where_to_get_it(tmp_path, pretrained_home):
    """`--from FILE` with its checksum is tests/test_cli.py::test_offline_weights_message_and_weights_install."""
    r = _fewshot_cli("weights", "--download", "resnet18",
                     env={"TORCH_HOME": str(tmp_path / "empty"), "FEWSHOT_OFFLINE": "1"})
    assert r.returncode == 2 and "resnet18-f37072fd.pth" in r.stderr and "download.pytorch.org" in r.stderr
    assert not (tmp_path / "empty" / "hub" / "checkpoints" / "resnet18-f37072fd.pth").exists()
    r = _fewshot_cli("weights", "--download", "mobilenet_v2", env={"TORCH_HOME": str(pretrained_home),
                                                                   "FEWSHOT_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr  # already there and intact: nothing to fetch
    assert "mobilenet_v2-b0353104.pth" in r.stdout


def test_model_card_in_the_bundle_beside_every_export_and_on_the_page(tmp_path, monkeypatch):
    from safetensors import safe_open
    from tests.conftest import make_class_folders

    from fewshot import load_dataset
    from fewshot.ui import build_app
    from fewshot.ui.tab import results as R
    from fewshot.ui.tab import state as ST
    from fewshot.ui.tab import training as T

    monkeypatch.setenv("FEWSHOT_SESSION_DIR", str(tmp_path / "sessions"))
    sess = ST.Session()
    try:
        sess.set_dataset(load_dataset(make_class_folders(tmp_path / "set", {"cat": 10, "dog": 10})), "test")
        for _ in T.run_training(sess, T.make_config("resnet18", False, 1, 0.003, "head", batch_size=8)):
            pass
        card = sess.model.model_card()
        for heading in ("## Data", "## Settings", "## Metrics", "## Limits and intended use"):
            assert heading in card
        assert "| cat |" in card and "validation accuracy" in card and "not for decisions about people" in card
        bundle, beside = R.export_model(sess, "bundle")
        assert beside == bundle.with_suffix(".md") and beside.read_text() == card
        with safe_open(str(bundle), "pt") as f:
            assert f.metadata()["model_card"] == card
        script = R.export_model(sess, "torchscript")
        assert script[-1].suffix == ".md" and script[-1].read_text() == card
        monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))  # where a dropped file lands
        demo = build_app().blocks  # step 5 shows it, for a model dropped on the page
        load_model = next(f.fn for f in demo.fns.values() if f.api_name == "load_model")
        dropped = tmp_path / "uploads" / "up" / bundle.name
        dropped.parent.mkdir(parents=True)
        shutil.copy(bundle, dropped)
        shown = load_model(str(dropped), None, None)
        on_page = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model-card")
        assert shown[on_page] == card
        next(v for v in shown.values() if isinstance(v, ST.Session)).cleanup()
    finally:
        sess.cleanup()


def test_readme_has_a_section_per_place_to_run_and_each_names_tests_that_exist():
    sections = {s.splitlines()[0].strip(): s for s in re.split(r"^## ", (ROOT / "README.md").read_text(), flags=re.M)}
    for name in ("On a Hugging Face Space", "Docker", "Share links are public",
                 "Pretrained weights, online and offline", "Model card"):
        refs = re.findall(r"`(tests/\w+\.py)(?:::(\w+))?`", sections[name])
        assert refs, f"README section {name!r} names no test"
        for path, func in refs:
            assert (ROOT / path).is_file(), path
            assert not func or f"def {func}(" in (ROOT / path).read_text(), f"{path}::{func} does not exist"
    docker = sections["Docker"]
    assert "docker run -p 7860:7860 -v fewshot-cache:/cache" in docker
    arg = re.search(r"--build-arg (\w+)=", docker).group(1)
    assert any(op == "ARG" and rest.startswith(f"{arg}=") for op, rest in _instructions())
    assert "--share --auth" in sections["Share links are public"]
    assert "FEWSHOT_GPU_MAX_S" in sections["On a Hugging Face Space"]
