"""The page after the header's 中文 switch, and a folder without class folders: Chromium against `python app.py`."""
from __future__ import annotations

import re

from conftest import make_class_folders

# Latin words a Chinese page may show: names of products and formats, and what the user named (classes, files)
ALLOWED = {"fewshot", "ONNX", "TorchScript", "F1", "ImageNet", "MobileNetV2", "ResNet", "ResNet18", "EfficientNet",
           "ConvNeXt", "ViT", "API", "zip", "json", "md", "csv", "CSV", "safetensors", "px", "MB", "GB", "GPU", "CPU", "Gradio",
           "PyTorch", "Teachable", "Machine", "Ctrl", "val", "train", "pets", "cats", "dogs", "png", "jpg", "Plotly",
           "English", "KB", "f1", "mobilenet_v2", "predictions", "fewshot-dogs",  # the last: file names
           "Hugging", "Face", "Space", "Hub"}  # Hugging Face's names for its site and its apps (step 5)

VISIBLE_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement, t = n.textContent.trim();
    if (!t || !el || el.closest('script, style, code, pre, .modebar, footer, #fs-lang')) continue;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!r.width || !r.height || s.visibility === 'hidden' || s.opacity === '0') continue;
    out.push(t);
  }
  return out;
}"""


def english_left(texts: list[str], names: set[str]) -> list[str]:
    """Visible texts that still hold an English word (two or more Latin letters) that is not a name."""
    left = []
    for t in texts:
        t = re.sub(r"[A-Za-z0-9_-]+（[^）]*[\u4e00-\u9fff][^）]*）", "", t)  # a term with its Chinese: precision（精确率）
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]", t)
                 if w not in ALLOWED and w not in names and not re.search(r"\.(png|jpg|zip|pth|safetensors|onnx|md|"
                                                                             r"json|csv|pt)$", w)]
        if words:
            left.append(t)
    return left


def test_after_the_chinese_switch_no_english_is_left_on_any_step(ui, tmp_path):
    pets = make_class_folders(tmp_path / "my_pets", {"猫": 12, "dogs": 12})
    u = ui(locale="en-US")
    u.wait_text("#train-btn", "▶ Train", 30)
    u.click("[data-fs-lang='zh-CN']")
    u.wait_text("#train-btn", "▶ 训练", 30)
    # the switch shows which language is on: 中文 in the accent colour, English not
    pressed = """() => [...document.querySelectorAll('[data-fs-lang]')].map(b => getComputedStyle(b).backgroundColor)"""
    u.page.wait_for_function(f"() => ({pressed})()[1].startsWith('rgb(') && ({pressed})()[0] !== ({pressed})()[1]",
                             timeout=10_000)
    zh = u.page.evaluate(pressed)[1]
    # Gradio's status overlay writes its words in English whatever the language; the page says them in Chinese
    u.page.evaluate("""() => { for (const [id, text] of [['fs-probe-1', 'processing |'], ['fs-probe-2', 'queue: 2/3 |']]) {
        const d = document.createElement('div'); d.className = 'progress-text'; d.id = id; d.textContent = text;
        document.body.append(d); } }""")
    u.page.wait_for_function("""() => document.getElementById('fs-probe-1').textContent.trim() === '处理中 |'
                                   && document.getElementById('fs-probe-2').textContent.trim() === '排队：2/3 |'""",
                             timeout=10_000)
    u.page.evaluate("() => document.querySelectorAll('[id^=fs-probe]').forEach((d) => d.remove())")
    u.page.set_input_files("#folder-drop input[type=file]", str(pets))
    u.wait_text("#data-summary", "已加载", 60)
    assert "“my_pets”：2 个类别文件夹里共 24 张图片" in u.text("#folder-drop")  # what it saw
    assert u.page.evaluate(pressed)[1] == zh  # still marked after clicks and a new report
    u.choose_backbone("MobileNetV2")
    u.set_number("epochs", 2)
    u.click("#train-btn")
    u.wait_text("#train-progress", "已完成", 180)
    picture = next((pets / "dogs").glob("*.png"))
    u.page.set_input_files("#try-image input[type=file]", str(picture))
    u.wait_text("#try-label", "dogs|猫", 60)
    u.page.locator("#step-try").get_by_text("一次识别多张图片").click()
    u.page.set_input_files("#many-files input[type=file]", [str(p) for p in sorted((pets / "猫").glob("*.png"))[:3]])
    table = u.wait_text("#many-table", "置信度", 60)
    assert re.search(r"\d+%", table) and not re.search(r"0\.\d{4}", table)  # 75%, as for one picture
    u.click("#export-btn")
    u.page.locator("#export-files").wait_for(state="visible", timeout=60_000)
    u.page.mouse.click(5, 5)  # a click on nothing: the switch keeps its mark
    assert u.page.evaluate(pressed)[1] == zh
    u.shot("chinese-everything")
    names = {"dogs", "my_pets", "猫"}
    left = english_left(u.page.evaluate(VISIBLE_TEXT), names)
    assert not left, "\n".join(left)
    for step in ("photos", "label", "train", "check", "try", "share"):  # every step, one screen each, in turn
        u.step(step)
        u.page.wait_for_timeout(500)
        left = english_left(u.page.evaluate(VISIBLE_TEXT), names)
        assert not left, (step, left)
    u.step("photos")
    for tab in ("拖入照片", "卡片", "示例"):  # the Photos step's own tabs' words, in turn
        u.page.locator("#step-photos").get_by_role("tab", name=re.compile(tab)).click()
        u.page.wait_for_timeout(500)
        left = english_left(u.page.evaluate(VISIBLE_TEXT), names)
        assert not left, (tab, left)
    u.shot("chinese-tabs")


def test_a_folder_of_loose_photos_goes_to_labelling_said_in_one_consistent_state(ui, tmp_path):
    loose = tmp_path / "my_flowers"
    make_class_folders(tmp_path / "made", {"x": 6})
    (tmp_path / "made" / "x").rename(loose)
    u = ui()
    u.page.set_input_files("#folder-drop input[type=file]:not(.fs-files)", str(loose))
    # one drop zone for any shape: a pile is not refused, it goes to the Label step, which opens on it
    u.raw.wait_for_selector("#step-label-button[aria-selected=true]", timeout=60_000)
    assert u.clicks == 0  # nobody clicked the Label step: the page opened it
    u.wait_text("#label-status", r"6 photos: 0 labelled", 60)
    summary = u.wait_text("#data-summary", "6 photos without class folders went to the Label step", 30)
    assert "Nothing was loaded" not in summary and "one subfolder per class" not in summary
    drop = u.wait_text("#folder-drop", "“my_flowers” is not sorted into class folders: its 6 new photos are in "
                                      "the Label step", 30)
    assert "⛔" not in drop and "the report is below" not in drop
    assert u.page.locator(".error").filter(has_text=re.compile("^Error$")).count() == 0  # no error mark
    u.shot("loose-photos")
    u.click("[data-fs-lang='zh-CN']")  # the same state, in Chinese
    u.wait_text("#label-status", "6 张照片", 30)
    u.wait_text("#data-summary", "本项目还有 6 张照片没有类别", 30)  # the report, written again in Chinese
    u.shot("loose-photos-chinese")
