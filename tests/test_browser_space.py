"""Step 5's Space box in Chromium: the Space folder comes as a .zip holding the five files, and publishing without
a reachable Hub says so in plain words and empties the token box (the token does not stay on the page).
"""
from __future__ import annotations

import re
import urllib.request
import zipfile
from urllib.parse import urljoin

from conftest import make_class_folders
from conftest_app import PHONE

from fewshot import Preprocessing, TrainConfig, load_dataset, run_to_end, save_bundle, train

SECRET = "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123"


def box_shot(u, name: str) -> None:
    """What the phone shows around the Space box (a full-page shot of the whole app at a phone's width is too tall
    to read)."""
    u.shots.mkdir(parents=True, exist_ok=True)
    u.page.locator("#space-publish").scroll_into_view_if_needed()
    u.page.screenshot(path=u.shots / f"{len(list(u.shots.iterdir())):02d}-{name}.png")  # the phone's screen


def test_the_space_box_gives_the_folder_and_publishing_offline_says_so_and_forgets_the_token(ui, tmp_path):
    ds = load_dataset(make_class_folders(tmp_path / "data", {"red": 4, "green": 4}))
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=72, crop=64))
    bundle = save_bundle(run_to_end(train(ds, cfg)).model, tmp_path / "red-green.safetensors")

    u = ui(viewport=PHONE)
    u.page.set_input_files("#load-bundle input[type=file]", str(bundle))
    u.wait_text("#try-status", "Model ready", 60)
    u.page.locator("#step-share").get_by_text("Share it as a Hugging Face Space").click()
    u.click("#space-folder-btn")
    u.wait_text("#space-zip", r"green-red-classifier-space\s*\.zip", 120)
    link = u.page.locator("#space-zip a[href]").first
    with urllib.request.urlopen(urljoin(u.server.url, link.get_attribute("href")), timeout=30) as r:
        (tmp_path / "got.zip").write_bytes(r.read())
    assert sorted(zipfile.ZipFile(tmp_path / "got.zip").namelist()) == \
        ["README.md", "app.py", "model.json", "model.onnx", "requirements.txt"]
    assert u.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll

    u.page.fill("#space-name textarea, #space-name input", "ana/red-green")
    u.page.fill("#space-token input", SECRET)
    assert u.page.get_attribute("#space-token input", "type") == "password"
    box_shot(u, "space-box-filled")
    u.click("#space-publish")
    # offline here (or, on a machine that reaches the Hub, a refused made-up token): plain words either way
    toast = u.page.locator(".toast-body").filter(
        has_text=re.compile("Could not reach the Hugging Face Hub|refused the token"))
    toast.wait_for(timeout=120_000)
    assert SECRET not in toast.inner_text()
    u.page.wait_for_function("() => document.querySelector('#space-token input').value === ''", timeout=30_000)
    box_shot(u, "space-publish-offline")


def test_the_space_page_on_a_phone_answers_a_photo_without_sideways_scroll(browser, tmp_path):
    """The exported Space, started from a folder of its own, as a visitor's phone shows it."""
    from tests.test_space import _start
    from fewshot.space import build_space
    ds = load_dataset(make_class_folders(tmp_path / "data", {"red": 4, "green": 4}))
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=72, crop=64))
    folder = build_space(run_to_end(train(ds, cfg)).model, tmp_path / "elsewhere" / "space")
    proc, url = _start(folder, tmp_path / "space.log")
    shots = tmp_path / "screens"
    shots.mkdir()
    try:
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.set_input_files("#space-image input[type=file]", str(next((tmp_path / "data" / "red").glob("*.png"))))
        page.locator("#space-label").filter(has_text=re.compile("red|green")).wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('#space-label').innerText.includes('%')",
                               timeout=60_000)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=shots / "space-on-a-phone.png", full_page=True)
        assert not errors, errors
        context.close()
        context = browser.new_context(viewport=PHONE, locale="zh-CN")  # a Chinese phone gets the Space in Chinese
        page = context.new_page()
        page.goto(url)
        page.get_by_text("给它一张图片").wait_for(timeout=60_000)
        # the page fills in part by part (a busy machine shows "加载中..." a while): wait for the rest, then read it
        page.wait_for_function("() => !document.body.innerText.includes('加载中')", timeout=60_000)
        assert "模型看到的是" in page.inner_text("body") and "关于这个模型" in page.inner_text("body")
        page.screenshot(path=shots / "space-on-a-chinese-phone.png")
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print("screenshots:", *sorted(shots.glob("*.png")), sep="\n  ")
