"""A ready Hugging Face Space (issue 16): the folder runs elsewhere with no torch and no fewshot and gives the
Predictor's probabilities; publishing makes the two Hub calls, never shows the token, and fails in plain words
offline leaving nothing behind.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fewshot import Predictor, Preprocessing, TrainConfig, load_dataset, run_to_end, save_bundle, train
from fewshot import i18n as L
from fewshot.cli import main as cli_main
from fewshot.errors import FewshotError
from fewshot.hub import HubError, publish_space
from fewshot.images import center_view, decode_canvas
from fewshot.space import TEMPLATE, build_space, zip_space
from tests.cli_inproc import run_cli
from tests.conftest import ROOT, make_class_folders, make_image
from tests.test_deploy import check_space_config

SECRET = "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123"
SPACE_FILES = ["README.md", "app.py", "model.json", "model.onnx", "requirements.txt"]


def _odd_photos(folder: Path) -> list[Path]:
    """Pictures that take every branch of the preprocessing: a big JPEG turned by its EXIF (decoded at a
    reduced scale), transparency, a palette with a transparent colour, 16-bit grey, CMYK, an animated GIF."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    big = Image.fromarray(rng.integers(0, 255, (300, 420, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: EXIF says turn it
    big.save(folder / "turned.jpg", quality=90, exif=exif)
    rgba = Image.fromarray(rng.integers(0, 255, (90, 120, 4), dtype=np.uint8), "RGBA")
    rgba.save(folder / "see-through.png")
    pal = Image.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)).convert("P")
    pal.save(folder / "palette.gif", transparency=3)
    Image.fromarray(rng.integers(0, 65535, (100, 100), dtype=np.uint16)).save(folder / "grey16.png")
    Image.fromarray(rng.integers(0, 255, (160, 200, 3), dtype=np.uint8)).convert("CMYK").save(folder / "cmyk.jpg")
    frames = [Image.fromarray(np.full((90, 90, 3), c, np.uint8)) for c in (30, 200)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pretrained_home):
    """A small MobileNetV2 on real ImageNet features (random weights give every picture the same answer, which
    would hide a preprocessing slip), its bundle, and photos of every kind."""
    tmp = tmp_path_factory.mktemp("space")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(pretrained_home))
        ds = load_dataset(make_class_folders(tmp / "data", {"red": 6, "green": 6, "blue": 6}))
        cfg = TrainConfig(arch="mobilenet_v2", stage="head", epochs=3, batch_size=8,
                          preprocessing=Preprocessing(resize=72, crop=64))
        tm = run_to_end(train(ds, cfg)).model
    bundle = save_bundle(tm, tmp / "model.safetensors")
    photos = [s.path for s in ds.val] + [str(p) for p in _odd_photos(tmp / "odd")]
    return tm, bundle, photos


@pytest.fixture(scope="module")
def space_folder(trained, tmp_path_factory) -> Path:
    """The Space folder, made by the command line as a user makes it."""
    out = tmp_path_factory.mktemp("made") / "my-space"
    r = run_cli("export", str(trained[1]), "--format", "space", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert sorted(Path(f).name for f in json.loads(r.stdout.strip().splitlines()[-1])["files"]) == SPACE_FILES
    return out


_ONNX_MADE: dict[str, bytes] = {}


@pytest.fixture
def onnx_once():
    """The ONNX graph of a network made once per set of weights and reused by the tests below that build Space
    folders only to publish them or to check what is left behind: torch's dynamo exporter takes 10-15 s a time on
    a busy CI machine, and those tests check the Hub calls, the token and the folders, not the graph. Only
    fewshot.export._stage (torch.onnx.export) is skipped: export(), build_space() and zip_space() run as they
    are, writing the same file. The graph itself is checked on the Space folder the command line makes (above),
    and the page's Space zip is made by the app with no stand-in."""
    import hashlib
    import importlib
    export_module = importlib.import_module("fewshot.export")  # the module (fewshot.export is also the function)
    real = export_module._stage

    def once(fmt, net, example, staged):
        if fmt != "onnx" or not isinstance(net, export_module.WithSoftmax):
            return real(fmt, net, example, staged)
        h = hashlib.sha256(f"{type(net.model).__qualname__} {tuple(example.shape[1:])}".encode())
        for name, t in net.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        key = h.hexdigest()
        if key not in _ONNX_MADE:
            real(fmt, net, example, staged)
            if export_module.weights_file(staged).exists():  # a model over 2 GB: not this one; nothing kept
                return
            _ONNX_MADE[key] = staged.read_bytes()
            return
        staged.write_bytes(_ONNX_MADE[key])

    with pytest.MonkeyPatch.context() as mp:  # its own: a test's monkeypatch.undo() leaves it in place
        mp.setattr(export_module, "_stage", once)
        yield


def _cli(*args: str, **env_extra: str) -> subprocess.CompletedProcess:
    """A real `python -m fewshot` (publish's exit status with HF_ENDPOINT, which huggingface_hub reads when it is
    imported); the other commands here are called in this process (tests/cli_inproc.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.run([sys.executable, "-m", "fewshot", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _without_fewshot() -> dict[str, str]:
    """The environment of someone who has only the Space folder: no PYTHONPATH, nothing pointing at this repo."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("FEWSHOT_")}


def _start(folder: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**_without_fewshot(), "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180  # importing gradio on a busy 2-core machine can take a minute
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"app.py did not answer at {url}:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------- the folder

def test_a_space_folder_copied_elsewhere_answers_predict_with_the_predictors_probabilities(trained, space_folder,
                                                                                           tmp_path):
    tm, bundle, photos = trained
    elsewhere = tmp_path / "someone-elses-machine" / "space"
    shutil.copytree(space_folder, elsewhere)
    no_fewshot = subprocess.run([sys.executable, "-c", "import fewshot"], cwd=elsewhere, env=_without_fewshot(),
                                capture_output=True, text=True, timeout=120)
    assert no_fewshot.returncode != 0 and "No module named 'fewshot'" in no_fewshot.stderr
    proc, url = _start(elsewhere, tmp_path / "space.log")
    try:
        from gradio_client import Client, handle_file
        client = Client(url, verbose=False)
        answers = [client.predict(handle_file(p), api_name="/predict") for p in photos]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ref = Predictor(tm).probabilities(photos).numpy()
    r = run_cli("predict", str(bundle), *photos, "--top-k", "3", "--json")
    cli_rows = json.loads(r.stdout.strip().splitlines()[-1])["predictions"]
    for photo, answer, probs, row in zip(photos, answers, ref, cli_rows):
        got = {c["label"]: c["confidence"] for c in answer["confidences"]}
        assert answer["label"] == tm.classes[int(probs.argmax())], photo
        assert got.keys() == set(tm.classes)  # three classes: all of them, most likely first
        np.testing.assert_allclose([got[c] for c in tm.classes], probs, atol=1e-4, err_msg=photo)
        for t in row["top"]:  # the command line says the same
            assert abs(got[t["label"]] - t["probability"]) < 1e-4, (photo, t)
    assert ref.std(0).max() > 0.01  # the answers differ from picture to picture: the check has teeth
    assert "Traceback" not in (tmp_path / "space.log").read_text()


def test_the_space_prepares_every_kind_of_picture_exactly_as_the_predictor(trained, space_folder):
    """app.py's own preprocessing against fewshot's, value for value, on pictures of every kind."""
    tm, _, photos = trained
    spec = importlib.util.spec_from_file_location("space_app_under_test", space_folder / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # builds the page and loads the model, as the Space does; launches nothing
    pre = tm.config.preprocessing
    for p in photos:
        want = center_view(decode_canvas(p, pre), pre).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        np.testing.assert_array_equal(app.model_input(p), want, err_msg=p)
    ref = Predictor(tm).probabilities(photos).numpy()
    for p, probs in zip(photos, ref):
        got = app.predict(p)
        assert list(got) == [tm.classes[i] for i in np.argsort(-probs)]
        np.testing.assert_allclose([got[c] for c in tm.classes], probs, atol=1e-4)


def test_the_space_folders_settings_pass_the_main_readmes_checks_and_name_only_four_packages(space_folder, trained):
    tm = trained[0]
    meta = check_space_config(space_folder)
    front = yaml.safe_load((space_folder / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py" and str(front["sdk_version"]) == meta["sdk_version"]
    assert front["emoji"] and 0 < len(front["title"]) <= 30 and 0 < len(front["short_description"]) <= 60
    assert all(c in front["title"] for c in tm.classes) and "fewshot" in front["tags"]
    readme = (space_folder / "README.md").read_text(encoding="utf-8")
    assert tm.model_card().strip() in readme  # the model card
    reqs = [line for line in (space_folder / "requirements.txt").read_text().splitlines() if line.strip()]
    names = {line.split("=")[0].split(">")[0].split("<")[0] for line in reqs}
    assert names == {"gradio", "onnxruntime", "numpy", "pillow"}
    assert f"gradio=={meta['sdk_version']}" in reqs and all("<" in r or "==" in r for r in reqs)
    info = json.loads((space_folder / "model.json").read_text(encoding="utf-8"))
    assert info["classes"] == tm.classes and info["preprocessing"]["resize"] == 72 and \
        info["preprocessing"]["crop"] == 64 and info["preprocessing"]["interpolation"] == "bilinear"
    imported = set()
    for node in ast.walk(ast.parse(TEMPLATE.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"gradio", "onnxruntime", "numpy", "PIL"}


def test_a_space_folder_is_written_whole_or_not_at_all(trained, tmp_path, monkeypatch, onnx_once):
    tm = trained[0]
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    with pytest.raises(FewshotError, match="not an empty folder"):
        build_space(tm, tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]
    import fewshot.space as space
    monkeypatch.setattr(space, "TEMPLATE", tmp_path / "missing-template.py")  # fails after the model is written
    with pytest.raises(FileNotFoundError):
        build_space(tm, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no half-written folder, no hidden one
    monkeypatch.undo()
    z = zip_space(tm, tmp_path / "space.zip")
    import zipfile
    assert sorted(zipfile.ZipFile(z).namelist()) == SPACE_FILES
    assert all(i.external_attr >> 16 & 0o644 == 0o644 for i in zipfile.ZipFile(z).infolist())  # readable by all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space.zip", "taken"]


# ---------------------------------------------------------------- publishing

class FakeHub:
    """Stands in for huggingface_hub.HfApi: records the calls and what the folder held when it was uploaded."""

    calls: list = []

    def __init__(self, *args, **kwargs) -> None:
        self.endpoint = "https://huggingface.co"

    def create_repo(self, repo_id, **kwargs):
        FakeHub.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/spaces/{repo_id}"

    def upload_folder(self, **kwargs):
        folder = Path(kwargs["folder_path"])
        FakeHub.calls.append(("upload_folder", sorted(p.name for p in folder.iterdir()), kwargs))
        FakeHub.readme = (folder / "README.md").read_text(encoding="utf-8")
        return "commit"


def test_publish_from_the_command_line_creates_the_space_and_uploads_the_folder_and_never_prints_the_token(
        trained, monkeypatch, capsys, tmp_path, onnx_once):
    import fewshot.hub as hub
    import huggingface_hub
    FakeHub.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    monkeypatch.setattr(hub, "check_reachable", lambda endpoint: None)  # no internet here
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the temporary Space folder goes
    assert cli_main(["publish", str(trained[1]), "--space", "ana/red-green-blue", "--private", "--json"]) == 0
    (create, repo, ckw), (upload, files, ukw) = FakeHub.calls
    assert (create, repo) == ("create_repo", "ana/red-green-blue")
    assert ckw == {"token": SECRET, "repo_type": "space", "space_sdk": "gradio", "private": True, "exist_ok": True}
    assert upload == "upload_folder" and files == SPACE_FILES
    assert ukw["repo_id"] == "ana/red-green-blue" and ukw["repo_type"] == "space" and ukw["token"] == SECRET
    assert 'Client("ana/red-green-blue")' in FakeHub.readme  # its example names the Space
    assert not Path(ukw["folder_path"]).exists()  # the folder was temporary
    assert list(tmp_path.iterdir()) == []
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert json.loads(out.strip().splitlines()[-1]) == {
        "space": "ana/red-green-blue", "url": "https://huggingface.co/spaces/ana/red-green-blue", "private": True}


def _http_error(status: int):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError
    response = httpx2.Response(status, request=httpx2.Request("POST", "https://huggingface.co/api/repos/create"))
    return HfHubHTTPError(f"{status} Client Error: token {SECRET} is invalid", response=response,
                          server_message=f"Invalid credentials: {SECRET}")


@pytest.mark.parametrize("status, words", [(401, "refused the token"), (403, "may not create or write")])
def test_a_bad_token_gets_plain_words_without_the_token(trained, status, words, onnx_once):
    class Refusing(FakeHub):
        def create_repo(self, repo_id, **kwargs):
            raise _http_error(status)

    with pytest.raises(HubError) as err:
        publish_space(trained[0], "ana/x", SECRET, api=Refusing(), reach=lambda endpoint: None)
    assert words in str(err.value) and "huggingface.co/settings/tokens" in str(err.value)
    assert SECRET not in str(err.value) and err.value.__cause__ is None and err.value.__context__ is None


def test_an_unexpected_hub_failure_masks_the_token(trained, onnx_once):
    class Broken(FakeHub):
        def upload_folder(self, **kwargs):
            raise RuntimeError(f"something odd with {SECRET}")

    with pytest.raises(HubError) as err:
        publish_space(trained[0], "ana/x", SECRET, api=Broken(), reach=lambda endpoint: None)
    assert "something odd" in str(err.value) and SECRET not in str(err.value)


def test_a_wrong_space_name_or_no_token_is_refused_before_anything_is_built(trained):
    FakeHub.calls = []
    for name in ("just-a-name", "ana/", "ana/x/y", "a b/c"):
        with pytest.raises(HubError, match="USER/NAME"):
            publish_space(trained[0], name, SECRET, api=FakeHub(), reach=lambda endpoint: None)
    with pytest.raises(HubError, match="token with write access"):
        publish_space(trained[0], "ana/x", "  ", api=FakeHub(), reach=lambda endpoint: None)
    assert FakeHub.calls == []


def _closed_port() -> str:
    return f"http://127.0.0.1:{_free_port()}"  # nothing listens there: connections are refused at once


def test_publish_offline_says_what_to_do_and_leaves_nothing_behind(trained, tmp_path, monkeypatch, onnx_once):
    """The real huggingface_hub client against a Hub it cannot reach, from the command line (whose quick check
    fails first), and with that check skipped (the client's own connection error)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = _cli("publish", str(trained[1]), "--space", "ana/red-green-blue", HF_TOKEN=SECRET, HF_ENDPOINT=_closed_port(),
             TMPDIR=str(tmp), NO_PROXY="*", no_proxy="*")  # straight to the closed port, even behind a proxy
    assert r.returncode == 2, r.stderr
    assert "Could not reach the Hugging Face Hub" in r.stderr and "Connect to the internet" in r.stderr
    assert "Traceback" not in r.stderr and SECRET not in r.stdout + r.stderr
    assert list(tmp.iterdir()) == []
    r = run_cli("publish", str(trained[1]), "--space", "ana/red-green-blue",
                env={"HF_TOKEN": SECRET, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "HF_HUB_OFFLINE is set" in r.stderr

    from huggingface_hub import HfApi
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with pytest.raises(HubError) as err:
        publish_space(trained[0], "ana/x", SECRET, api=HfApi(endpoint=_closed_port()), reach=lambda endpoint: None)
    assert "Could not reach the Hugging Face Hub" in str(err.value) and SECRET not in str(err.value)
    assert list(tmp.iterdir()) == []  # the temporary Space folder is gone
    assert "无法连接 Hugging Face Hub" in L.translate(str(err.value), "zh-CN")  # what a Chinese page shows


def test_the_space_folder_through_the_api_is_a_zip_of_the_five_files(app_server, trained, tmp_path):
    from gradio_client import Client, handle_file
    client = Client(app_server.url, verbose=False)
    client.predict(handle_file(str(trained[1])), api_name="/load_model")
    got = Path(client.predict(api_name="/export_space"))
    assert got.name.endswith("-space.zip")
    import zipfile
    with zipfile.ZipFile(got) as z:
        assert sorted(z.namelist()) == SPACE_FILES
        z.extractall(tmp_path / "space")
    check_space_config(tmp_path / "space")
    assert json.loads((tmp_path / "space" / "model.json").read_text(encoding="utf-8"))["classes"] == trained[0].classes


def test_the_quick_look_at_the_hub_knows_an_open_door_a_closed_one_and_a_proxy(monkeypatch):
    from fewshot.hub import check_reachable
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        door = f"http://127.0.0.1:{listening.getsockname()[1]}"
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(k, raising=False)
        check_reachable(door, timeout=5)
        with pytest.raises(HubError, match="127.0.0.1"):
            check_reachable(_closed_port(), timeout=5)
        # behind a proxy the Hub itself is not reached directly (nor its name looked up): the proxy is
        monkeypatch.setenv("https_proxy", door)
        check_reachable("https://no-such-host.invalid", timeout=5)


def test_the_model_is_held_while_its_folder_is_made_and_free_during_the_upload(trained, onnx_once):
    """A page's predictions wait for the export only, never for a slow upload."""
    import threading
    held = threading.Lock()
    seen = {}

    class Watching(FakeHub):
        def upload_folder(self, **kwargs):
            seen["held_during_upload"] = held.locked()
            return super().upload_folder(**kwargs)

    class Holding:
        def __enter__(self):
            held.acquire()

        def __exit__(self, *exc):
            seen["released"] = True
            held.release()

    publish_space(trained[0], "ana/x", SECRET, api=Watching(), reach=lambda endpoint: None, building=Holding())
    assert seen == {"released": True, "held_during_upload": False}
