"""The app as an API: gradio_client against `python app.py`, through the stable endpoint names."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import make_class_folders

from fewshot import load_bundle

ENDPOINTS = {"/load_zip", "/train", "/predict", "/export"}


@pytest.fixture
def pets_zip(tmp_path) -> Path:
    src = make_class_folders(tmp_path / "pets", {"cat": 10, "dog": 10})
    (src / "dog" / "notes.txt").write_text("not a picture")
    out = tmp_path / "pets.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(tmp_path))
    return out


def test_load_zip_train_predict_export_through_the_api(app_server, pets_zip, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(app_server.url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert ENDPOINTS <= set(api)
    train_params = {p["parameter_name"] for p in api["/train"]["parameters"]}
    assert {"backbone", "epochs", "learning_rate", "stage"} <= train_params
    assert not {"/before", "/after", "/lambda"} & set(api)  # UI plumbing stays out of the API

    summary, warnings, _thumbs, counts, skipped = client.predict(handle_file(str(pets_zip)), api_name="/load_zip")
    assert "2 classes" in summary and "cat, dog" in summary
    assert counts["data"] == [["cat", 8, 2, 10], ["dog", 8, 2, 10]]
    assert skipped["data"] == [["pets/dog/notes.txt", ".txt is not an image type we read"]]

    job = client.submit(backbone="mobilenet_v2", pretrained=True, epochs=2, learning_rate=0.003, stage="head",
                        api_name="/train")
    epochs_seen = [len(out[4]["data"]) for out in job]
    final = job.result()
    assert epochs_seen[-1] == 2 and 1 in epochs_seen  # streamed: the first epoch arrived before the second
    assert "Done in" in final[0]
    history = final[4]
    assert history["headers"][:3] == ["epoch", "train_loss", "train_acc"]
    assert all(0 <= row[4] <= 1 for row in history["data"])  # val_acc per epoch

    picture = next((pets_zip.parent / "pets" / "dog").glob("*.png"))
    label = client.predict(handle_file(str(picture)), False, api_name="/predict")
    assert label["label"] in {"cat", "dog"}
    assert {c["label"] for c in label["confidences"]} == {"cat", "dog"}
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1, abs=1e-4)

    files = client.predict("bundle", api_name="/export")
    bundle = next(f for f in (files if isinstance(files, list) else [files]) if str(f).endswith(".safetensors"))
    assert load_bundle(bundle).classes == ["cat", "dog"]

    # a picture with transparency reaches the model as the file is (its clear parts over white, as the
    # Predictor and the exports read it), not as the picture box's RGB conversion of it
    from PIL import Image
    from fewshot.predict import Predictor
    rgba = Image.open(picture).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    rgba.save(tmp_path / "clear.png")
    want = dict(Predictor(load_bundle(bundle)).predict_one(str(tmp_path / "clear.png"), top_k=2))
    label = client.predict(handle_file(str(tmp_path / "clear.png")), False, api_name="/predict")
    got = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert got == pytest.approx(want, abs=1e-4)


def test_api_errors_are_plain_words(app_server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(app_server.url, verbose=False)
    with pytest.raises(Exception, match="Load some photos first"):
        client.predict(backbone="mobilenet_v2", pretrained=True, epochs=1, learning_rate=0.001, stage="head",
                       api_name="/train")
    bogus = tmp_path / "holiday.zip"
    bogus.write_text("this is not a zip")
    with pytest.raises(Exception, match="holiday.zip is not a zip archive"):
        client.predict(handle_file(str(bogus)), api_name="/load_zip")


def test_command_line_and_environment(monkeypatch):
    import app
    from fewshot.ui import launch_kwargs

    for var in ("FEWSHOT_HOST", "FEWSHOT_PORT", "FEWSHOT_SHARE", "FEWSHOT_AUTH", "SPACE_ID"):
        monkeypatch.delenv(var, raising=False)
    a = app.parse_args([])
    assert (a.host, a.port, a.share, a.auth) == ("127.0.0.1", 7860, False, None)
    monkeypatch.setenv("SPACE_ID", "someone/fewshot")
    assert app.parse_args([]).host == "0.0.0.0"  # a Space must listen on every interface
    monkeypatch.setenv("FEWSHOT_PORT", "9000")
    monkeypatch.setenv("FEWSHOT_SHARE", "1")
    monkeypatch.setenv("FEWSHOT_AUTH", "ana:s3cret:x")
    a = app.parse_args(["--host", "10.0.0.5"])
    assert (a.host, a.port, a.share, a.auth) == ("10.0.0.5", 9000, True, "ana:s3cret:x")
    with pytest.raises(SystemExit):
        app.parse_args(["--auth", "no-colon"])
    kw = launch_kwargs()
    assert "fs-drop" in kw["css"] and kw["allowed_paths"]
