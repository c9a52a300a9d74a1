"""Steps 3-5 as a person sees them in Chromium (issue 24): on a phone the picture box opens on the camera, Gradio's
own words in it come in the page's language, and a term's plain words show what the term means on a tap."""
from __future__ import annotations

import re

from conftest_app import LAPTOP, PHONE

SAME_BOX_FOR_A_SECOND = """(sel) => {
  const box = document.querySelector(sel), now = performance.now();
  if (!box || box !== window.__fsBox) { window.__fsBox = box; window.__fsBoxSince = now; return false; }
  return now - window.__fsBoxSince > 1000;
}"""


def test_a_chinese_phone_opens_the_picture_box_on_the_camera_and_a_term_explains_itself_on_a_tap(ui):
    u = ui(viewport=PHONE, locale="zh-CN")
    u.page.wait_for_function("() => document.documentElement.lang === 'zh-CN'", timeout=30_000)
    u.step("try")  # the picture box is drawn when its step opens, and on a phone it opens on the camera
    # (waited for in Chinese: the box is drawn again when the language arrives, and the first one leaves the page)
    u.page.wait_for_function("() => { const b = document.querySelector('#try-image'); return !!b && "
                             "!!b.querySelector('video') && b.innerText.includes('点击打开摄像头'); }",
                             timeout=30_000)  # the camera, and Gradio's "Click to Access Webcam", never translated
    # (Gradio may draw the box again while the step settles, which a held element loses: the same box for a second)
    u.page.wait_for_function(SAME_BOX_FOR_A_SECOND, arg="#try-image", polling=200, timeout=30_000)
    box = u.page.locator("#try-image")
    box.scroll_into_view_if_needed(timeout=60_000)
    words = box.inner_text()
    assert not re.search(r"Drop Image Here|Click to Upload|Webcam", words), words
    u.shots.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=u.shots / "phone-zh-try-image-camera-first.png")

    term = u.page.locator(".fs-term").filter(has_text="多看几次").first
    tip = term.locator(".fs-tip")
    assert not tip.is_visible()  # plain words first
    term.focus()  # what a tap does on a phone (tabindex="0")
    tip.wait_for(state="visible", timeout=5_000)
    assert "测试时增强" in tip.inner_text()
    term.scroll_into_view_if_needed()
    u.page.screenshot(path=u.shots / "phone-zh-term-tip.png")


def test_gradios_own_upload_words_follow_the_pages_language_on_a_laptop(ui):
    u = ui(viewport=LAPTOP, locale="en-US")
    box = u.page.locator("#try-image")
    box.scroll_into_view_if_needed(timeout=60_000)
    assert "Drop Image Here" in box.inner_text() and not u.page.locator("#try-image video").count()  # upload first
    u.click("[data-fs-lang='zh-CN']")  # the header's 中文 switch
    u.wait_text("#train-btn", "▶ 训练", 30)
    # (the box is drawn again: a moment without it)
    u.page.wait_for_function("() => { const b = document.querySelector('#try-image'); return !!b && "
                             "!/Drop Image Here|Click to Upload/.test(b.innerText) && /拖放|上传/.test(b.innerText); }",
                             timeout=30_000)
    assert "拖放" in box.inner_text() or "上传" in box.inner_text(), box.inner_text()
    u.shots.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=u.shots / "laptop-switched-to-zh-try-image.png")


def test_label_step_captions_keep_the_percentage_and_the_hand_over_answers_beside_its_button(ui, tmp_path):
    import shutil
    from conftest import make_class_folders
    from test_browser_label import Labeller
    long = {"red": "sunflowers-from-the-garden-behind-the-house", "green": "dandelions-on-the-lawn"}
    sorted_ = make_class_folders(tmp_path / "sorted", {"red": 8, "green": 8})
    pile, truth = tmp_path / "pile", {}
    pile.mkdir()
    for i, f in enumerate(sorted(sorted_.rglob("*.png"))):  # flat, opaque names: an unsorted pile
        shutil.copyfile(f, pile / f"p{i:02d}.png")
        truth[f"p{i:02d}.png"] = long[f.parent.name]
    u = ui(viewport=PHONE)
    u.page.set_input_files("#folder-drop input[type=file]:not(.fs-files)", str(pile))
    u.wait_text("#label-progress", r"features of 16 photos are ready", 300)
    for name in long.values():
        u.page.fill("#label-class-name input, #label-class-name textarea", name)
        u.page.press("#label-class-name input, #label-class-name textarea", "Enter")
        u.page.wait_for_selector(f'#label-grid button[data-act="label"][data-cls="{name}"]', timeout=30_000)
    assert f"Class '{long['green']}' made" in u.text("#label-status")  # what the last action did
    lab = Labeller(u, truth)
    tiles = lab.tiles()
    for name in long.values():  # two photos of each: suggestions start
        lab.label([t["id"] for t in tiles if truth[t["name"]] == name][:2], name)
    u.wait_text("#label-status", rf"2 photos are now '{long['green']}'\.", 30)
    u.page.wait_for_selector("#label-grid .fl-pct", timeout=60_000)  # the next photos, with a guess each
    u.page.evaluate("() => document.querySelector('#label-grid .fl-tile').scrollIntoView({block: 'center'})")
    cut = u.page.evaluate("""() => [...document.querySelectorAll('#label-grid .fl-cap')].filter(c => c.querySelector(
        '.fl-pct')).map(c => { const p = c.querySelector('.fl-pct').getBoundingClientRect(),
        b = c.getBoundingClientRect(); return p.width > 0 && p.right <= b.right + 0.5 ? '' : c.title; })""")
    assert cut and not any(cut), cut  # every guess shows its percentage, whatever its class name's length
    u.shots.mkdir(parents=True, exist_ok=True)
    u.page.screenshot(path=u.shots / "phone-label-captions.png")
    u.click("#label-use")
    said = u.wait_text("#label-used", r"The Train step will train on 4 photos in 2 classes", 60)
    assert f"{long['red']}: 2 photos" in said
    u.page.locator("#label-use").screenshot(path=u.shots / "phone-label-use.png")
    u.page.locator("#label-used").scroll_into_view_if_needed()
    u.page.screenshot(path=u.shots / "phone-label-used.png")


def test_the_check_on_other_photos_shows_how_far_it_is_under_the_drop(ui, tmp_path):
    # it ran 74 s with nothing visible; now "⏳ n of N photos checked." stands under the drop while it runs
    import zipfile
    from conftest import make_class_folders
    from fewshot import Preprocessing, TrainConfig, load_dataset, run_to_end, save_bundle, train
    ds = load_dataset(make_class_folders(tmp_path / "data", {"red": 4, "green": 4}))
    cfg = TrainConfig(pretrained=False, arch="mobilenet_v2", epochs=1, batch_size=8,
                      preprocessing=Preprocessing(resize=72, crop=64))
    bundle = save_bundle(run_to_end(train(ds, cfg)).model, tmp_path / "red-green.safetensors")
    other = make_class_folders(tmp_path / "other", {"red": 200, "green": 200}, size=24, seed=5)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        for f in other.rglob("*.png"):
            zf.write(f, f.relative_to(other.parent))
    u = ui()
    u.page.set_input_files("#load-bundle input[type=file]", str(bundle))
    u.wait_text("#try-status", "Model ready", 60)
    u.page.locator("#step-check").get_by_text("Check on other photos").click()
    u.page.wait_for_selector("#eval-result", state="attached", timeout=30_000)  # drawn as the box opens
    u.page.evaluate("""() => { window.__said = [];
      new MutationObserver(() => window.__said.push(document.querySelector('#eval-result').innerText))
        .observe(document.querySelector('#eval-result'), {subtree: true, childList: true, characterData: true}); }""")
    u.page.set_input_files("#eval-zip input[type=file]", str(tmp_path / "other.zip"))
    u.wait_text("#eval-result", "right on these photos", 120)
    said = u.page.evaluate("() => window.__said")
    assert any(re.search(r"⏳ (\d+ of 400 photos checked|Opening the photos)", s) for s in said), said
    u.shots.mkdir(parents=True, exist_ok=True)
    u.page.locator("#eval-box").screenshot(path=u.shots / "check-other-photos-done.png")
