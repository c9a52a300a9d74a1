"""Simplified Chinese for the app (简体中文).

MESSAGES maps each English message template, exactly as it is written in the source (`{}` where an
f-string puts a value), to its Chinese template: `{0}`, `{1}` … put the values back in any order, as they
are; `{0!t}` translates the value too (a reason or hint inside a sentence). UI holds the page's fixed
labels, COLUMNS the table headers. Words follow the seed article: 训练, 验证, 准确率, 类别, 学习率, 解冻.
"""
from __future__ import annotations

ARCHIVE = {
    "it could not be unpacked ({})": "无法解压（{0}）",
    "its name is too long to be stored on disk": "文件名太长，无法保存到磁盘",
    "it is encrypted (password-protected); unzip it first": "文件已加密（有密码保护）；请先自行解压",
    "it is damaged inside the zip ({})": "它在 zip 包里已损坏（{0}）",
    "it is packed with a method we cannot unpack ({})": "它的压缩方式无法解压（{0}）",
    "{}={} is not a number (write e.g. 5000, 500M or 2G)": "{0}={1} 不是数字（请写成 5000、500M 或 2G 这样的形式）",
    "{}={} must be at least 1": "{0}={1} 至少应为 1",
    "another file in the zip has the same name (ignoring upper/lower case); kept as '{}'":
        "zip 包里有另一个同名文件（不区分大小写）；已保存为“{0}”",
    "its path points outside the upload folder; ignored for safety": "它的路径指向上传文件夹之外；为安全起见已忽略",
    "it is a symbolic link; links are not followed": "它是符号链接；不会跟随链接读取",
    "{} is not an image type we read": "{0} 不是可读取的图片类型",
    "no extension": "无扩展名",
    "nested deeper than {} folders (limit: max depth)": "文件夹嵌套超过 {0} 层（限制：最大深度）",
    "it would grow {} times when unpacked (limit: max compression ratio {})":
        "解压后会膨胀 {0} 倍（限制：最大压缩比 {1}）",
    "{} is {}, over the upload limit of {} (limit: max upload size)": "{0} 大小为 {1}，超过上传上限 {2}（限制：最大上传大小）",
    "its folder '{}' differs from '{}' only in upper/lower case, so they were merged":
        "它的文件夹“{0}”与“{1}”只有大小写不同，已合并为一个",
    "{} is not a zip archive, or it is damaged or cut off (it could not be opened as one)":
        "{0} 不是 zip 压缩包，或者已损坏、不完整（无法作为 zip 打开）",
    "{} holds {} files, over the limit of {} (limit: max files per zip)":
        "{0} 含有 {1} 个文件，超过上限 {2}（限制：每个 zip 的最大文件数）",
    "{} holds {} images, over the limit of {} (limit: max images)": "{0} 含有 {1} 张图片，超过上限 {2}（限制：最大图片数）",
    "{} would unpack to {}, over the limit of {} (limit: max extraction size)":
        "{0} 解压后有 {1}，超过上限 {2}（限制：最大解压大小）",
    "{} is a zip bomb: it would grow {} times (limit: max compression ratio {})":
        "{0} 是“zip 炸弹”：解压后会膨胀 {1} 倍（限制：最大压缩比 {2}）",
    "limit {} must be a positive whole number, not {}": "限制 {0} 必须是正整数，而不是 {1}",
    "{} unpacks past {} (limit: max extraction size)": "{0} 解压后超过 {1}（限制：最大解压大小）",
}

BUDGET = {
    "This training needs about {} s of GPU time, but this Space can give one training at most {} s.":
        "这次训练大约需要 {0} 秒 GPU 时间，但这个 Space 每次训练最多只能给 {1} 秒。",
    "Any one of these changes would make it fit.": "下面任何一项改动都能让它在时限内完成。",
    "This change would make it fit.": "做下面这项改动就能在时限内完成。",
    "Set Epochs to {} instead of {}.": "把训练轮数从 {1} 改为 {0}。",
    "Let only the last layer learn (the first choice under “How much of the network learns”).":
        "只训练最后一层（“网络中参与学习的部分”下的第一个选项）。",
    "Let only the last layer learn (“Only the last layer” under “How much of the network learns”).":
        "只训练最后一层（“网络中参与学习的部分”下的“只训练最后一层”）。",
    "Use about {} photos instead of {}.": "把照片从 {1} 张减到约 {0} 张。",
    "Run the app on your own computer instead, where there is no time limit.":
        "请改在你自己的电脑上运行本应用，那里没有时间限制。",
    "Too long for this Space's GPU": "超出这个 Space 的 GPU 时限",
}

BUNDLE = {
    "{} is too short to be a fewshot model (it may be empty or cut off)": "{0} 太短，不是 fewshot 模型（可能是空文件或不完整）",
    "{} is cut off: it ends inside its header (truncated download or copy?)": "{0} 不完整：文件在头部中途就结束了（下载或复制被中断？）",
    "a pickle or PyTorch .pt/.pth file": "pickle 或 PyTorch 的 .pt/.pth 文件",
    "another format": "其他格式",
    "{} is not a fewshot model file: it looks like {}, which is never opened, for safety "
    "(fewshot models are .safetensors files saved by fewshot)":
        "{0} 不是 fewshot 模型文件：它看起来是{1!t}，为安全起见不会打开（fewshot 模型是 fewshot 保存的 .safetensors 文件）",
    "{} has broken metadata (its class names are not a list of names)": "{0} 的元数据已损坏（类别名不是一个名称列表）",
    "{} lists {} classes; a model needs between 2 and {}": "{0} 列出了 {1} 个类别；模型需要 2 到 {2} 个类别",
    "{} has broken metadata (a class name appears twice)": "{0} 的元数据已损坏（有类别名重复出现）",
    "{} has broken metadata (no preprocessing settings)": "{0} 的元数据已损坏（缺少预处理设置）",
    "{} has broken metadata (metrics, history or data summary of the wrong kind)":
        "{0} 的元数据已损坏（指标、训练记录或数据摘要的类型不对）",
    "{} has impossible preprocessing settings (resize {}, crop {})": "{0} 的预处理设置不可能成立（缩放 {1}，裁剪 {2}）",
    "{} is a safetensors file but not a fewshot model (no fewshot metadata)":
        "{0} 是 safetensors 文件，但不是 fewshot 模型（没有 fewshot 元数据）",
    "{} was made by a newer fewshot (format {}; this one reads up to {}). Update fewshot to open it.":
        "{0} 由更新版本的 fewshot 生成（格式 {1}；当前版本最多读取到 {2}）。请升级 fewshot 后再打开。",
    "{} has an unknown format version": "{0} 的格式版本未知",
    "{} names {} classes but its weights have {} outputs; the file is inconsistent":
        "{0} 写明有 {1} 个类别，但权重有 {2} 个输出；文件前后不一致",
    "{} is not a fewshot model file (its header is not readable)": "{0} 不是 fewshot 模型文件（文件头无法读取）",
    "{} is larger than any fewshot model could be": "{0} 比任何 fewshot 模型都大",
    "{} could not be read ({})": "{0} 无法读取（{1}）",
    "{} is damaged or truncated ({})": "{0} 已损坏或不完整（{1}）",
    "{} has broken metadata ({})": "{0} 的元数据已损坏（{1}）",
    "{} does not match the {} architecture ({})": "{0} 与 {1} 网络结构不匹配（{2}）",
}

CARD = {
    "# Image classifier: {}": "# 图像分类器：{0}",
    "Made with fewshot on {}: transfer learning from an ImageNet-pretrained {}.":
        "由 fewshot 于 {0!t} 生成：基于 ImageNet 预训练的 {1} 进行迁移学习。",
    "an unknown date": "未知日期",
    "## Data": "## 数据",
    "## Settings": "## 设置",
    "## Metrics": "## 指标",
    "| class | train | val |": "| 类别 | 训练 | 验证 |",
    "- backbone: {} ({}), trained part: {}": "- 骨干网络：{0}（{1!t}），训练的部分：{2!t}",
    "ImageNet weights": "ImageNet 权重",
    "from scratch": "从零开始",
    "- epochs: {}, learning rate: {}, batch size: {}, augmentation: {}, label smoothing: {}, seed: {}":
        "- 训练轮数：{0}，学习率：{1}，批大小：{2}，数据增强：{3!t}，标签平滑：{4}，随机种子：{5}",
    # the settings' names, inside the lines above
    "head": "最后一层", "top": "最后一个模块", "top2": "最后两个模块", "all": "整个网络", "auto": "自动",
    "none": "无", "light": "轻度", "strong": "强",
    "- input: shorter side {}px, centre crop {}px": "- 输入：短边缩放到 {0} 像素，中心裁剪 {1} 像素",
    "## Limits and intended use": "## 局限与适用范围",
    "- It only knows the classes above: any other picture still gets one of these labels.":
        "- 它只认识上面这些类别：任何其他图片也会被归入其中之一。",
    "- Accuracy was measured on few photos; expect lower accuracy on photos unlike the training ones "
    "(other cameras, light, backgrounds).":
        "- 准确率是在少量照片上测得的；遇到与训练照片不同的照片（其他相机、光线、背景）时，准确率可能更低。",
    "- Intended for prototypes, sorting and teaching; not for decisions about people, health or safety "
    "without further testing.":
        "- 适用于原型、整理分类和教学；未经进一步测试，不要用于涉及人身、健康或安全的决定。",
    "- validation accuracy: {} (best epoch {})": "- 验证准确率：{0}（最佳轮次 {1}）",
    "- no validation images: accuracy was not measured": "- 没有验证图片：未测量准确率",
    "  - {}: precision {}, recall {}; {} images": "  - {0}：精确率 {1}，召回率 {2}；{3} 张图片",
}

CONFIG = {
    "chosen from your photos: only the last layer for ordinary photos, the last block too for many or tiny photos":
        "根据你的照片自动选择：普通照片只训练最后一层，照片很多或很小时连同最后一个模块一起训练",
    "only the last layer (fastest, best for few photos)": "只训练最后一层（最快，最适合照片少的情况）",
    "the last block too (a bit slower, often better for unusual photos)": "连同最后一个模块（稍慢，对不常见的照片往往更好）",
    "the last two blocks (slower, needs more photos)": "最后两个模块（更慢，需要更多照片）",
    "the whole network (slowest, needs many photos and a GPU)": "整个网络（最慢，需要大量照片和 GPU）",
    "unknown backbone {}; choose one of {}": "未知的骨干网络 {0}；请从 {1} 中选择",
    "unknown stage {}; choose one of {}": "未知的训练范围 {0}；请从 {1} 中选择",
    "unknown augmentation {}": "未知的数据增强方式 {0}",
    "epochs must be between 1 and 1000": "训练轮数必须在 1 到 1000 之间",
    "learning rate must be positive": "学习率必须大于 0",
    "batch size must be between 1 and 4096": "批大小必须在 1 到 4096 之间",
    "label smoothing must be in [0, 1)": "标签平滑必须在 [0, 1) 之间",
    "validation fraction must be in (0, 1)": "验证集比例必须在 (0, 1) 之间",
}

DATA = {
    " Left out: {}{}.": " 未使用：{0!t}{1!t}。",
    "Left out: {}{}.": "未使用：{0!t}{1!t}。",
    "a class needs a name": "类别需要一个名字",
    "'{}' cannot be a class name (it means a folder, not a thing); rename the class":
        "“{0}”不能作为类别名（它表示文件夹，而不是某种东西）；请给这个类别改名",
    " (and {} more)": "（还有 {0} 个）",
    "(and {} more)": "（还有 {0} 个）",
    "the photos add up to {}, over the upload limit of {} (limit: max upload size)":
        "照片总大小为 {0}，超过上传上限 {1}（限制：最大上传大小）",
    "{} images is over the limit of {} (limit: max images)": "{0} 张图片超过了上限 {1}（限制：最大图片数）",
    "{} does not exist": "{0} 不存在",
    "No readable images were found in {}.": "在 {0} 中没有找到可读取的图片。",
    "Classes are unbalanced: '{}' has {} photos to train on but '{}' only {}. Add photos to the small class; "
    "until then keep the class-balanced loss on (the default), so the model does not favour the big one.":
        "各类别数量不均衡：“{0}”有 {1} 张用于训练的照片，而“{2}”只有 {3} 张。请给小的类别补充照片；在此之前请保持“类别均衡损失”开启"
        "（默认开启），这样模型不会偏向大的类别。",
    "{} images are exact copies of others ({}{}); copies add nothing and make validation look better than it is.":
        "有 {0} 张图片与其他图片完全相同（{1}{2}）；重复的照片没有帮助，还会让验证结果看起来比实际更好。",
    "The same picture ({}) is in {}; the model cannot learn which is right. Keep it in one class.":
        "同一张图片（{0}）同时出现在{1!t}中；模型无法判断哪个才对。请只把它留在一个类别里。",
    "'{}' and '{}'": "“{0}”和“{1}”",
    "{} validation images also appear in training, so the validation accuracy will be too optimistic.":
        "有 {0} 张验证图片也出现在训练图片中，所以验证准确率会偏高。",
    "no readable images in this class; the class was left out": "这个类别里没有可读取的图片；已略去该类别",
    "No readable images were found. Put your photos in one folder per class (e.g. cats/ and dogs/) and try again.":
        "没有找到可读取的图片。请把照片按类别放进各自的文件夹（例如 cats/ 和 dogs/）后再试一次。",
    "Only one class ('{}') has images. A classifier needs at least two classes: add a second folder of photos.":
        "只有一个类别（“{0}”）有图片。分类器至少需要两个类别：请再添加一个照片文件夹。",
    "No images are left for validation, so accuracy cannot be measured. Add more photos per class.":
        "没有剩下用于验证的图片，所以无法测量准确率。请给每个类别添加更多照片。",
    "it is a symbolic link to a folder; links are not followed": "它是指向文件夹的符号链接；不会跟随链接读取",
    "Class '{}' has only {} images; aim for at least {} per class, taken in different scenes, angles and light.":
        "类别“{0}”只有 {1} 张图片；每个类别最好至少 {2} 张，并在不同场景、角度和光线下拍摄。",
    "it is not inside a class folder": "它不在任何类别文件夹里",
    "it could not be read ({})": "无法读取（{0}）",
}

DISTRIBUTED = {
    "the training processes ended with different weights; the run is not usable": "各训练进程得到的权重不一致；这次训练结果不可用",
    "training was stopped while the photos were being read": "读取照片时训练被停止了",
    "Loading {} ({} processes)": "正在加载 {0}（{1} 个进程）",
    "Training stopped at epoch {}: the loss became infinite (NaN).": "训练在第 {0} 轮停止：损失变成了无穷大（NaN）。",
    "Lower the learning rate (now {}; try {}).": "请降低学习率（当前为 {0}；可以试试 {1}）。",
    "Checking the best model on the validation photos": "正在用验证照片检查最佳模型",
    "Epoch {}/{} ({} processes)": "第 {0}/{1} 轮（{2} 个进程）",
}

EVALUATE = {
    "Some classes have fewer than {} photos: {}.": "有些类别的照片少于 {0} 张：{1}。",
    "Add photos until every class has at least 20, taken in different places, angles and light.":
        "请补充照片，让每个类别至少有 20 张，并在不同地点、角度和光线下拍摄。",
    "Validation accuracy is stuck near {}, which is what random guessing gets with {} classes.":
        "验证准确率一直停在 {0} 左右，这正是在 {1} 个类别中随机猜测的水平。",
    "Check that the classes really look different in the photos and that each class has varied, correctly "
    "sorted pictures. Try a lower learning rate.":
        "请检查各类别在照片里是否真的看起来不同，每个类别的图片是否多样且分类正确。也可以试试更低的学习率。",
    "The training loss is going up instead of down.": "训练损失不降反升。",
    "Lower the learning rate (try 10 times smaller, e.g. 0.0001).": "请降低学习率（试试缩小到十分之一，例如 0.0001）。",
    "The training loss jumps up and down between epochs.": "训练损失在各轮之间忽高忽低。",
    "Lower the learning rate (try 0.0001) or use a bigger batch size (e.g. 32).":
        "请降低学习率（试试 0.0001），或者使用更大的批大小（例如 32）。",
    "The loss swings widely from batch to batch.": "损失在各批之间波动很大。",
    "Accuracy was still improving at the last epoch ({}): the model has not finished learning.":
        "到最后一轮准确率仍在提高（{0}）：模型还没有学完。",
    "Train longer (try {} epochs) or raise the learning rate (try {}).": "请训练更久（试试 {0} 轮），或者调高学习率（试试 {1}）。",
    "The model is memorising: {} right on training photos but {} on validation photos.":
        "模型在死记硬背：训练照片答对 {0}，验证照片却只答对 {1}。",
    "Add more varied photos, use strong augmentation or label smoothing, unfreeze less of the network, or train "
    "for fewer epochs (the best epoch is kept anyway).":
        "请添加更多样的照片、使用强数据增强或标签平滑、少解冻一些网络层，或者减少训练轮数（反正会保留最佳的一轮）。",
}

EXAMPLES = {
    "Ants and bees (PyTorch tutorial, 2 classes, ~400 photos)": "蚂蚁和蜜蜂（PyTorch 教程，2 个类别，约 400 张照片）",
    "Flowers (TensorFlow, 5 classes, ~3,700 photos)": "花卉（TensorFlow，5 个类别，约 3,700 张照片）",
    "Unknown photo set {}; choose one of {}": "未知的照片集 {0}；请从 {1} 中选择",
    "Could not download the photo set from {} ({}). This machine seems to be offline: use the generated example "
    "instead, or upload your own photos.":
        "无法从 {0} 下载照片集（{1}）。这台机器似乎没有联网：请改用生成的示例，或者上传你自己的照片。",
    "The downloaded {} archive is damaged ({}); try again.": "下载的 {0} 压缩包已损坏（{1}）；请再试一次。",
}

EXPORT = {
    "unknown export format {}; choose torchscript or onnx": "未知的导出格式 {0}；请选择 torchscript 或 onnx",
}

IMAGES = {
    "not a picture in a format we can read": "不是可读取格式的图片",
    "the image declares {}, over the limit of {} pixels (limit: max pixels per image)":
        "图片声明的尺寸为 {0!t}，超过 {1} 像素的上限（限制：每张图片的最大像素数）",
    "{}x{} = {} pixels": "{0}x{1} = {2} 像素",
    "the picture data is damaged ({})": "图片数据已损坏（{0}）",
    "a PDF document, not a picture": "PDF 文档，不是图片",
    "a HEIC photo (iPhone format), which is not supported; convert it to JPEG first":
        "HEIC 照片（iPhone 格式），暂不支持；请先转换为 JPEG",
    "a zip archive, not a picture": "zip 压缩包，不是图片",
    "text or HTML (perhaps a web page saved under a picture's name), not a picture":
        "文本或 HTML（也许是用图片名保存的网页），不是图片",
    "the file is truncated (cut off before the end)": "文件不完整（在结尾之前被截断）",
    "the file is empty (0 bytes)": "文件是空的（0 字节）",
    "the image is {}x{}, which has no pixels": "图片尺寸为 {0}x{1}，没有任何像素",
    "the image is {}x{}: more than {} times longer than it is wide, so it cannot be a photo":
        "图片尺寸为 {0}x{1}：长宽比超过 {2} 倍，不可能是照片",
    "very large": "非常大",
    "the file is {}": "该文件是{0!t}",
    "the picture is too large to decode in the memory available": "图片太大，可用内存不足以解码",
}

MODELS = {
    "The ImageNet weights for {} ({}) are not on this machine and could not be downloaded ({}). Ways out: train "
    "from scratch with --scratch (works, but much weaker with few photos); use a weights file you have with --weights "
    "FILE; or install the file once with python -m fewshot weights --from FILE --arch {} (download it on a connected "
    "machine from {}; it goes into {}).":
        "{0} 的 ImageNet 权重（{1}）不在这台机器上，也无法下载（{2!t}）。可以这样做：用 --scratch 从零开始训练"
        "（可以用，但照片少时效果差很多）；用 --weights FILE 指定手上的权重文件；或者用 "
        "python -m fewshot weights --from FILE --arch {3} 安装一次该文件（在联网的机器上从 {4} 下载；它会放到 {5}）。",
    "{}'s ImageNet weights are not on this machine, and it cannot download them. Use a backbone whose weights are "
    "here, or train from scratch, with the buttons below.":
        "{0} 的 ImageNet 权重不在这台机器上，这台机器也无法下载。请用下面的按钮改用权重已在本机的骨干网络，或者从零开始训练。",
    "Details: add the weights file by hand": "详情：手动添加权重文件",
    "The file {} goes into {}. On a machine with internet, download it from {}, then install it here with "
    "`python -m fewshot weights --from FILE --arch {}` (it checks the file).":
        "文件 {0} 应放到 {1}。请在能上网的机器上从 {2} 下载，然后在这里用 "
        "`python -m fewshot weights --from FILE --arch {3}` 安装（它会校验文件）。",
    "{}'s ImageNet weights are not on this machine, and it cannot download them (it is offline). Choose a backbone "
    "marked ✓, or train from scratch.":
        "{0} 的 ImageNet 权重不在这台机器上，这台机器离线，无法下载。请选择标有 ✓ 的骨干网络，或者从零开始训练。",
    "offline mode is on": "已开启离线模式",
    "The weights file {} does not exist.": "权重文件 {0} 不存在。",
    "{} is not a torchvision weights file ({}).": "{0} 不是 torchvision 权重文件（{1}）。",
}

SESSION = {
    "a first look, as fast as possible": "先快速看看效果，越快越好",
    "good results for most photo sets": "对大多数照片集效果都不错",
    "more epochs and more of the network: slower, can squeeze out more accuracy": "更多轮次、训练更多网络层：更慢，但可能再提高一些准确率",
    "none: show each photo as it is": "无：照片保持原样",
    "light: small crops and mirror images (recommended)": "轻度：小幅裁剪和镜像（推荐）",
    "strong: bigger crops, colour and angle changes (helps with few photos)": "强：更大幅度的裁剪、颜色和角度变化（照片少时有帮助）",
    "the dropped folder": "拖入的文件夹",
    "{}'s ImageNet weights are not on this machine yet: training will first download them (about {} MB, needs "
    "internet). Offline, put {} into {}.":
        "{0} 的 ImageNet 权重还不在这台机器上：训练会先下载它（约 {1} MB，需要联网）。离线时，请把 {2} 放到 {3}。",
    "kept the best epoch ({})": "保留了最佳的一轮（第 {0} 轮）",
    "Done in {}; {}. Try it in the Try step.": "用时 {0!t}，已完成；{1!t}。请在“试用”步骤试用。",
    "Chosen from your photos: {}, photos at {#} px.": "根据你的照片自动选择：{0!t}，照片尺寸 {1} 像素。",
    "only the last layer learned": "只训练了最后一层",
    "the last block learned too": "连同最后一个模块一起训练",
    "the last two blocks learned too": "连同最后两个模块一起训练",
    "the whole network learned": "训练了整个网络",
    "{#} s": "{0} 秒",
    "{#} min": "{0} 分钟",
    "Something unexpected went wrong ({}: {}).": "发生了意外错误（{0}：{1}）。",
    "recommended all-rounder": "推荐，样样都行",
    "small and fast": "小而快",
    "accurate for its size": "以其大小而言很准确",
    "more accurate, about 3x slower": "更准确，约慢 3 倍",
    "large and slow, a classic": "又大又慢的经典网络",
    "the shapes example (generated)": "形状示例（自动生成）",
    "the {} photo set": "照片集 {0}",
    "That class card no longer exists.": "这张类别卡片已不存在。",
    "your class cards": "你的类别卡片",
    "Training from scratch: nothing is re-used from ImageNet and photos are used at 112 px. With *only the last "
    "layer* the rest of the network stays random (fast, but weak); choose *the whole network* to let everything "
    "learn (slow, needs many photos and epochs).":
        "从零开始训练：不复用任何 ImageNet 知识，照片按 112 像素使用。选择*只训练最后一层*时，网络其余部分保持随机"
        "（快，但效果弱）；选择*整个网络*则所有部分都参与学习（慢，需要大量照片和训练轮数）。",
    "Stopped before the first epoch ended, so there is no model yet ({}).": "在第一轮结束前就停止了，所以还没有模型（{0!t}）。",
    "Stopped after {} epochs; {}. It is ready to try in the Try step ({}).": "训练 {0} 轮后停止；{1!t}。可以在“试用”步骤试用了（{2!t}）。",
    "Stopped after 1 epoch; {}. It is ready to try in the Try step ({}).": "训练 1 轮后停止；{0!t}。可以在“试用”步骤试用了（{1!t}）。",
    "Stopped after {} epochs, as the curve showed; {}. It is ready to try in the Try step ({}).":
        "按曲线所示，训练 {0} 轮后停止；{1!t}。可以在“试用”步骤试用了（{2!t}）。",
    "Stopped after 1 epoch, as the curve showed; {}. It is ready to try in the Try step ({}).":
        "按曲线所示，训练 1 轮后停止；{0!t}。可以在“试用”步骤试用了（{1!t}）。",
    "Waiting for another training on this server to finish; this one then starts by itself.":
        "正在等待这台服务器上的另一个训练结束；之后这个会自动开始。",
    "This project is already training (in another tab?). Wait for it to finish or press Stop there.":
        "这个项目已经在训练了（在另一个标签页里？）。请等它结束，或在那里按“停止”。",
    "epochs shown": "已显示的轮数",
    "Stopped early: validation stopped improving; {} ({}).": "提前停止：验证结果不再提升；{0!t}（{1!t}）。",
    "Training went wrong (the loss became infinite); {}.": "训练出了问题（损失变成了无穷大）；{0!t}。",
    "This picture could not be read: {}.": "这张图片无法读取：{0!t}。",
    "The computer ran out of memory. Use fewer or smaller photos, or a smaller batch size.":
        "电脑内存不足。请使用更少或更小的照片，或者更小的批大小。",
    " ({} other files were there, e.g. {})": "（那里有 {0} 个其他文件，例如 {1}）",
    "No pictures arrived. Drop a folder that holds one subfolder of photos per class (e.g. pets/cats, "
    "pets/dogs){}.":
        "没有收到任何图片。请拖入一个文件夹，里面每个类别各有一个照片子文件夹（例如 pets/cats、pets/dogs）{0!t}。",
    "Choose a .zip file first.": "请先选择一个 .zip 文件。",
    "{} is not a .zip file. Zip your class folders (e.g. cats/ and dogs/) and upload the zip.":
        "{0} 不是 .zip 文件。请把各类别文件夹（例如 cats/ 和 dogs/）压缩成 zip 后上传。",
    "Up to {} class cards fit here; for more classes, drop a folder or a zip instead.":
        "这里最多放 {0} 张类别卡片；类别更多时，请改为拖入文件夹或 zip。",
    "✓ on this machine": "✓ 已在本机",
    "needs a {} MB download": "需要下载 {0} MB",
    "Unknown backbone {}; choose one from the list.": "未知的骨干网络 {0}；请从列表中选择。",
    "Unknown choice {} for 'how much of the network learns'.": "“网络中参与学习的部分”没有 {0} 这个选项。",
    "Step 1 of 2 · looking at your photos: {} of {}": "第 1 步（共 2 步）· 正在查看你的照片：{0} / {1}",
    "Step 2 of 2 · training · {}": "第 2 步（共 2 步）· 训练中 · {0!t}",
    "Step 1 of 2": "第 1 步（共 2 步）",
    "Step 2 of 2": "第 2 步（共 2 步）",
    "looking at your photos: {} of {}": "正在查看你的照片：{0} / {1}",
    "training": "训练中",
    "Preparing the network": "正在准备网络",
    "Preparing…": "准备中…",
    "Load some photos first (the Photos step).": "请先加载照片（“照片”步骤）。",
    "Add a picture first (upload, paste or webcam).": "请先添加一张图片（上传、粘贴或用摄像头）。",
    "Add some pictures first.": "请先添加一些图片。",
    "There is no model to export yet: train one in the Train step first.": "还没有可导出的模型：请先在“训练”步骤训练一个。",
    "Unknown format {}; choose one of {}.": "未知的格式 {0}；请从 {1} 中选择。",
    "Choose a .safetensors model file first.": "请先选择一个 .safetensors 模型文件。",
    "A training is running on the current photos. Wait for it or press Stop, then load the new photos again.":
        "当前照片正在训练中。请等它结束或按“停止”，然后再重新加载新照片。",
    "There is no model yet: train one in the Train step, or open a saved model in the Share step.":
        "还没有模型：请在“训练”步骤训练一个，或在“分享”步骤加载已保存的模型。",
    "None of the dropped files could be used. ": "拖入的文件都无法使用。",
    "None of the dropped files could be used.": "拖入的文件都无法使用。",
    "{}: the upload did not arrive on the server": "{0}：上传的文件没有到达服务器",
    "Class card {} has no name: type one in its name box.": "第 {0} 张类别卡片没有名字：请在名称框里输入一个。",
    "Two class cards are both called '{}'. Give each class its own name.": "有两张类别卡片都叫“{0}”。请给每个类别取不同的名字。",
    "Epochs, batch size and seed must be whole numbers, and the learning rate a number such as 0.001.":
        "训练轮数、批大小和随机种子必须是整数，学习率必须是 0.001 这样的数字。",
    "This session is already training. Wait for it to finish or press Stop.": "这个会话已经在训练了。请等它结束或按“停止”。",
    "Could not start: the ImageNet weights are missing.": "无法开始：缺少 ImageNet 权重。",
    "its folder path is not allowed (it points outside the folder)": "它的文件夹路径不被允许（指向了文件夹之外）",
    "the upload did not arrive on the server; try again": "上传的文件没有到达服务器；请再试一次",
    "another file has the same name and folder": "另一个文件的名字和文件夹与它相同",
    "{}: {} is not an image type we read": "{0}：{1!t} 不是可读取的图片类型",
}

TRAIN = {
    "{}. The photo changed or disappeared after it was checked; load the photos again.":
        "{0!t}。这张照片在检查后被修改或删除了；请重新加载照片。",
    "The {} ran out of memory {} with {} photos at a time; retrying with {} at a time.":
        "{0} {1!t}内存不足（每次 {2} 张照片）；改为每次 {3} 张重试。",
    "This only makes training slower. To avoid it, lower the batch size, unfreeze fewer layers or pick a lighter "
    "backbone.":
        "这只会让训练变慢。要避免这种情况，请降低批大小、少解冻一些层，或选择更轻的骨干网络。",
    "training ended without a result": "训练结束了，但没有得到结果",
    "Training stopped: out of memory even with one photo per batch.": "训练已停止：即使每批只有一张照片，内存也不够。",
    "Reading photos": "正在读取照片",
    "Unfreeze fewer layers, pick a lighter backbone, or train on the CPU.": "请少解冻一些层、选择更轻的骨干网络，或改用 CPU 训练。",
    "Out of memory while reading the photos, even one at a time. Pick a lighter backbone or train on the CPU.":
        "读取照片时内存不足，即使一次只读一张也不够。请选择更轻的骨干网络，或改用 CPU 训练。",
    "while reading the photos": "在读取照片时",
    " The best model from before is kept.": "之前的最佳模型已保留。",
    "The best model from before is kept.": "之前的最佳模型已保留。",
    "Reading photos and running the frozen network ({} reused from cache)": "正在读取照片并运行冻结的网络（{0} 张复用缓存）",
    "in epoch {#}": "在第 {0} 轮",
    "Epoch {#}/{#}": "第 {0}/{1} 轮",
    "Loading {}": "正在加载 {0}",
}

VIEWS = {
    "**Loaded {}: {} classes** ({}).": "**已加载{0!t}：{1} 个类别**（{2}）。",
    "{} photos to learn from (training) and {} to check on (validation: {}; the model never learns from them, so "
    "they show how it does on new photos).":
        "{0} 张照片用于学习（训练），{1} 张用于检查（验证：{2!t}；模型从不从它们学习，所以它们能反映模型在新照片上的表现）。",
    "about {#} min {#} s left": "还剩约 {0} 分 {1} 秒",
    "### {} right": "### 答对 {0}",
    "{} of {} validation photos were named correctly ({}). Random guessing would get {}.{}":
        "{1} 张验证照片中有 {0} 张认对了（{2!t}）。随机猜测只能答对 {3}。{4!t}",
    "your own validation folder": "你自己的验证文件夹",
    "a random 20% of each class, kept aside": "每个类别随机留出 20%",
    "✅ No problems found in these photos.": "✅ 这些照片没有发现问题。",
    "almost done": "马上就好",
    "about {#} s left": "还剩约 {0} 秒",
    "No validation photos, so accuracy could not be measured.": "没有验证照片，所以无法测量准确率。",
    "Loss per epoch (lower is better)": "每轮的损失（越低越好）",
    "Accuracy per epoch (higher is better)": "每轮的准确率（越高越好）",
    "predicted as": "被认作",
    "really is": "实际是",
    "- ⚠️ {} file{} skipped: see *Skipped files* below for each one and why.":
        "- ⚠️ 跳过了 {0} 个文件：每个文件及其原因见下方*跳过的文件*。",
    "training photos": "训练照片",
    "validation photos": "验证照片",
    "random guessing": "随机猜测",
    "kept": "保留的一轮",
    "most accurate so far": "目前最准的一轮",
    "true %{y}, predicted %{x}: %{z} photos": "实际 %{y}，认作 %{x}：%{z} 张照片",
    "Which class was taken for which": "哪个类别被认成了哪个",
    "excellent": "优秀",
    "good": "良好",
    "fair: more varied photos would help": "一般：更多样的照片会有帮助",
    "poor: barely better than guessing": "较差：比瞎猜好不了多少",
    "loss": "损失",
    "accuracy": "准确率",
    "{#} photos": "{0} 张照片",
    "- {} **{}** {}": "- {0} **{1!t}** {2!t}",
}

WEIGHTS = {
    "Cannot tell which backbone {} is for; name it with --arch ({}).": "无法判断 {0} 属于哪个骨干网络；请用 --arch 指明（{1}）。",
    "{} is not torchvision's {} ImageNet file: its sha256 starts {}, expected {}. Download {} again.":
        "{0} 不是 torchvision 的 {1} ImageNet 文件：它的 sha256 开头是 {2}，应为 {3}。请重新下载 {4}。",
}

APP = {  # what app.py says from its callbacks
    "No model yet: train one in the Train step, or open a saved model in the Share step.": "还没有模型：请在“训练”步骤训练一个，或在“分享”步骤加载已保存的模型。",
    "Train a model to see how well it does.": "训练一个模型，看看它表现如何。",
    "(Measured when this model was trained; mistakes are shown only after training here.)":
        "（这是该模型训练时测得的结果；只有在这里训练后才会显示认错的照片。）",
    "✅ Model ready. It knows: **{}**. Give it a picture.": "✅ 模型已就绪。它认识：**{0}**。给它一张图片试试。",
    "{} file{} skipped; the report below says why for each one.": "跳过了 {0} 个文件；下方的报告说明了每个文件的原因。",
    "⬇ Download the model (.safetensors, {} MB)": "⬇ 下载模型（.safetensors，{0} MB）",
    "Use {} instead (its weights are on this machine)": "改用 {0}（它的权重已在本机）",
    "Model loaded: it knows {}.": "模型已加载：它认识 {0}。",
    "Skipped files ({})": "跳过的文件（{0}）",
    "the folder “{}”": "文件夹“{0}”",
    "Validation photos it got wrong: {} (really → taken for, and how sure it was; worst first)":
        "认错的验证照片：{0} 张（实际 → 被认作，以及把握有多大；错得最离谱的在前）",
    "Starting… (if another training is running, this one waits for it and then starts by itself)":
        "正在开始…（如果另一个训练正在进行，这个会等它结束后自动开始）",
    "Stopping after this batch; the best epoch so far is kept.": "这一批结束后停止；保留目前最佳的一轮。",
    "Nothing is training right now.": "现在没有正在进行的训练。",
    "Not added: {}": "未添加：{0!t}",
    "Downloading {} MB": "正在下载 {0} MB",
    "Not started.": "尚未开始。",
    "Nothing loaded yet.": "还没有加载任何照片。",
    "Sorry": "抱歉",
    "Problem": "出错了",
    "{}: {}": "{0}：{1!t}",
    "{}; {}": "{0!t}；{1!t}",
    "**{}** {}": "**{0!t}** {1!t}",
    "⛔ {}": "⛔ {0!t}",
    "⛔ **Nothing was loaded from “{}”.** {}": "⛔ **没有从“{0}”加载任何照片。** {1!t}",
    "⛔ Nothing was loaded from “{}”: see why below.": "⛔ 没有从“{0}”加载任何照片：原因见下方。",
    "The {} pictures in “{}” are not in class folders. Put the photos into one subfolder per class, e.g. {}/cats and "
    "{}/dogs, then drop “{}” again.":
        "“{1}”里的 {0} 张图片没有放在类别文件夹中。请把照片按类别放进各自的子文件夹，例如 {2}/cats 和 {3}/dogs，"
        "然后重新拖入“{4}”。",
}

FOLDER_DROP = {  # the folder drop zone (assets/folder_drop.js fills the numbered values)
    "Choose or drop a folder of class folders": "选择或拖入一个包含各类别文件夹的文件夹",
    "Drop one folder here, or click to choose it": "把一个文件夹拖到这里，或点击选择",
    "It should hold one subfolder per class, e.g. {} and {}. The subfolder names become the class names. "
    "A {} + {} layout works too.":
        "里面每个类别各有一个子文件夹，例如 {0} 和 {1}。子文件夹的名字就是类别名。"
        "也可以用 {2} + {3} 的结构。",
    "Choose a folder…": "选择文件夹…",
    "No pictures found in what was dropped (.jpg, .png, .bmp, .gif, .webp, .tif are read).":
        "拖入的内容里没有找到图片（可读取 .jpg、.png、.bmp、.gif、.webp、.tif）。",
    "{} pictures is over the limit of {} per upload (limit: max images). Drop fewer pictures at a time.":
        "{0} 张图片超过了每次上传 {1} 张的上限（限制：最大图片数）。请每次少拖入一些图片。",
    "Uploading {} of {} pictures…": "正在上传第 {0} 张，共 {1} 张…",
    "Sent {} pictures from “{}”; the report is below.": "已从“{1}”发送 {0} 张图片；报告在下方。",
    "Reading the folder…": "正在读取文件夹…",
}

MESSAGES: dict[str, str] = {**ARCHIVE, **BUDGET, **BUNDLE, **CARD, **CONFIG, **DATA, **DISTRIBUTED, **EVALUATE,
                            **EXAMPLES, **EXPORT, **IMAGES, **MODELS, **SESSION, **TRAIN, **VIEWS, **WEIGHTS, **APP,
                            **FOLDER_DROP}

COLUMNS = {
    "class": "类别", "train": "训练", "val": "验证", "total": "合计", "file": "文件", "reason": "原因",
    "epoch": "轮次", "train_loss": "训练损失", "train_acc": "训练准确率", "val_loss": "验证损失", "val_acc": "验证准确率",
    "seconds": "秒", "precision": "精确率", "recall": "召回率", "f1": "F1", "support": "样本数",
    "prediction": "预测", "confidence": "置信度", "runner-up": "第二可能", "problem": "问题",
}

UI = {  # the page's fixed words (labels, buttons, hints); each is the English as app.py writes it
    "fewshot: teach a computer your photos": "fewshot：教电脑认识你的照片",
    "Teach a computer to tell your photos apart, in five steps. Your photos, runs and models are kept in your "
    "project on this server until you delete it.": "只需五步，教电脑分辨你的照片。你的照片、训练记录和模型保存在本服务器上你的项目里，直到你删除它。",
    "Your photos": "你的照片",
    "Give a few dozen photos per class, taken in different places, angles and light.":
        "每个类别准备几十张照片，在不同地点、角度和光线下拍摄。",
    "📁 Folder": "📁 文件夹",
    "🗜️ Zip": "🗜️ 压缩包",
    "🃏 Cards": "🃏 卡片",
    "✨ Example": "✨ 示例",
    "A .zip of class folders (or of train/ and val/)": "包含各类别文件夹的 .zip（或包含 train/ 和 val/）",
    "Class by class, like Teachable Machine: one card per class. Name it, then drop photos on it or take webcam "
    "shots.": "像 Teachable Machine 一样逐个类别添加：每个类别一张卡片。先起名，再把照片拖上去或用摄像头拍摄。",
    "Class name": "类别名",
    "0 photos": "0 张照片",
    "Drop photos here": "把照片拖到这里",
    "Delete this class": "删除这个类别",
    "+ Add a class": "+ 添加类别",
    "Use these classes": "使用这些类别",
    "📷 Take photos with the webcam": "📷 用摄像头拍照",
    "Each shot goes into the class chosen on the right": "每次拍摄的照片会放进右边选中的类别",
    "Add the shots to": "照片添加到",
    "No photos at hand? Start with generated pictures of three shapes (works offline), or download a real photo "
    "set.": "手头没有照片？可以先用自动生成的三种形状图片（无需联网），或者下载一套真实照片。",
    "Use the shapes example": "使用形状示例",
    "Real photos (downloaded, needs internet)": "真实照片（需联网下载）",
    "Download": "下载",
    "summary": "摘要",
    "warnings": "警告",
    "thumbnails": "缩略图",
    "Photos per class and split": "各类别、各部分的照片数",
    "train = learned from; val = kept aside to check the model": "训练 = 用来学习；验证 = 留出来检查模型",
    "Skipped files (0)": "跳过的文件（0）",
    "Train": "训练",
    "Re-use a network that already knows everyday pictures (ImageNet) and teach it your classes.":
        "复用一个已经认识日常图片（ImageNet）的网络，教它认识你的类别。",
    "Preset": "预设",
    "Quick": "快速",
    "Balanced": "均衡",
    "Thorough": "细致",
    "Backbone (the pretrained network)": "骨干网络（预训练网络）",
    "The network whose knowledge is re-used. ✓ marks weights already on this machine.":
        "被复用知识的网络。✓ 表示权重已在本机。",
    "Start from ImageNet knowledge (recommended)": "从 ImageNet 知识开始（推荐）",
    "Off = train from scratch: much weaker with few photos.": "关闭 = 从零开始训练：照片少时效果差很多。",
    "Epochs": "训练轮数",
    "How many times the model sees every training photo.": "模型把每张训练照片看多少遍。",
    "Learning rate": "学习率",
    "How big each correction step is. 0.001 is a good start; lower it if the curves jump.":
        "每一步修正的幅度。0.001 是不错的起点；曲线跳动时请调低。",
    "How much of the network learns (unfreezing)": "网络中参与学习的部分（解冻）",
    "The rest keeps what it learned on ImageNet.": "其余部分保留在 ImageNet 上学到的知识。",
    "Advanced": "高级",
    "Batch size": "批大小",
    "Photos per correction step: bigger is smoother but needs more memory.": "每一步修正用的照片数：越大越平稳，但更占内存。",
    "Augmentation": "数据增强",
    "Random changes to training photos, so the model learns the object, not the picture.":
        "随机改变训练照片，让模型学会认物体，而不是记住照片。",
    "Label smoothing": "标签平滑",
    "Keeps the model from being over-confident; 0.1 is usual.": "防止模型过于自信；通常用 0.1。",
    "Early stop": "提前停止",
    "Stop after this many epochs without improvement (0 = never).": "连续这么多轮没有提升就停止（0 = 从不）。",
    "Class-balanced loss": "类别均衡损失",
    "Each class counts the same, however many photos it has. Turn it off only if your photo counts match how "
    "often each class really occurs.":
        "每个类别的分量相同，不论它有多少张照片。只有当各类照片的数量正好反映每类实际出现的频率时，才关闭它。",
    "Seed": "随机种子",
    "Same seed and settings give the same result.": "相同的随机种子和设置会得到相同的结果。",
    "▶ Train": "▶ 训练",
    "■ Stop": "■ 停止",
    "Use another backbone": "换一个骨干网络",
    "Train from scratch instead": "改为从零开始训练",
    "progress": "进度",
    "loss curve": "损失曲线",
    "accuracy curve": "准确率曲线",
    "diagnostics": "诊断",
    "The numbers behind the curves": "曲线背后的数字",
    "**loss**: how wrong the model is, on average (lower is better) · **acc**: the share of photos named right · "
    "**train** / **val**: on the training / validation photos":
        "**loss（损失）**：模型平均错得有多厉害（越低越好） · **acc（准确率）**：认对的照片所占比例 · "
        "**train / val**：在训练 / 验证照片上",
    "epochs": "各轮",
    "Check": "检查",
    "How the model does on the validation photos, which it never learned from.": "模型在验证照片上的表现——它从没学过这些照片。",
    "Per class": "各类别",
    "**precision**: of the photos it called X, the share really X · **recall**: of the real X photos, the share "
    "it found · in brackets: where the true share likely lies (95% interval) · **support**: photos checked":
        "**precision（精确率）**：被它认作 X 的照片中，真是 X 的比例 · **recall（召回率）**：真正是 X 的照片中，"
        "被它找出来的比例 · 括号里：真实比例很可能所在的范围（95% 区间） · **support（样本数）**：检查的照片数",
    "Validation photos it got wrong (worst first)": "认错的验证照片（错得最离谱的在前）",
    "Try it": "试一试",
    "Give it a new picture: upload, paste (Ctrl+V) or use the webcam.": "给它一张新图片：上传、粘贴（Ctrl+V）或用摄像头。",
    "A picture": "一张图片",
    "Look twice (test-time augmentation)": "多看几眼（测试时增强）",
    "Averages six views of the picture (mirror, corners): slower, often steadier.": "对图片的六个视角（镜像、四角）取平均：更慢，但往往更稳定。",
    "What the model sees": "模型看到的是",
    "Many pictures at once": "一次识别多张图片",
    "Pictures": "图片",
    "The table as a CSV file": "表格的 CSV 文件",
    "Take it away": "带走模型",
    "Download the model, or open one you saved before and use it without retraining.":
        "下载模型，或者打开以前保存的模型，无需重新训练即可使用。",
    "⬇ Download the model (.safetensors)": "⬇ 下载模型（.safetensors）",
    "fewshot model (.safetensors)": "fewshot 模型（.safetensors）",
    "TorchScript (for PyTorch apps)": "TorchScript（用于 PyTorch 应用）",
    "ONNX (for almost any runtime)": "ONNX（几乎任何运行环境都可用）",
    "Format": "格式",
    "Export": "导出",
    "Your files (the .json says how to feed the model; the .md is its model card)":
        "你的文件（.json 说明如何给模型输入数据；.md 是模型卡片）",
    "Model card": "模型卡片",
    "The model card (data, settings, measured accuracy, limits) appears after training.":
        "训练后这里会显示模型卡片（数据、设置、测得的准确率、局限）。",
    "Use a saved model: drop its .safetensors file here": "使用已保存的模型：把它的 .safetensors 文件拖到这里",
    "Use via API": "通过 API 使用",
    "Every step is also an API. With `pip install gradio_client`:": "每一步也都是一个 API。安装 `pip install gradio_client` 后：",
    "See *Use via API* at the bottom of the page for every parameter.": "每个参数的说明见页面底部的*通过 API 使用*。",
    "Quick: {}": "快速：{0!t}",
    "Balanced: {}": "均衡：{0!t}",
    "Thorough: {}": "细致：{0!t}",
    "Language": "语言",
    "Warning": "注意",
    "Info": "提示",
}

# Evaluating a saved model on labelled photos: which of them it has already seen (predict.evaluate_photos).
MESSAGES.update({
    "{} has broken metadata (its photo fingerprints are not readable)": "{0} 的元数据已损坏（照片指纹无法读取）",
    "{} has classes the model does not know: {} (the model knows {})":
        "{0} 中有模型不认识的类别：{1}（模型认识的类别：{2}）",
    "This model file does not record which photos it was trained on (it was saved by an older fewshot), so it "
    "cannot tell whether these photos are new to it.":
        "这个模型文件没有记录它是用哪些照片训练的（它由较旧版本的 fewshot 保存），所以无法判断这些照片对它来说是否是新的。",
    "None of these {} photos were used to train this model: {} is a fair measure on new photos.":
        "这 {0} 张照片都没有用于训练这个模型：{1} 能公平地反映它在新照片上的表现。",
    "All {} photos were used to train this model ({} for training, {} for validation), so {} says little about "
    "new photos: evaluate on photos it never saw.":
        "这 {0} 张照片全都用于训练过这个模型（{1} 张用于训练，{2} 张用于验证），所以 {3} 说明不了它在新照片上的表现："
        "请用它从未见过的照片来评估。",
    "{} of {} photos were in this model's training set and {} were its validation photos: {} on all, {} on the {} "
    "it never saw.":
        "{1} 张照片中有 {0} 张在这个模型的训练集里，{2} 张是它的验证照片：全部照片的准确率为 {3}，"
        "它从未见过的 {5} 张为 {4}。",
    "{} of {} photos were in this model's training set: {} on all, {} on the {} it never saw.":
        "{1} 张照片中有 {0} 张在这个模型的训练集里：全部照片的准确率为 {2}，它从未见过的 {4} 张为 {3}。",
})

# Which epoch training kept and why (evaluate.kept_note, Done.kept_note).
MESSAGES.update({
    "kept the last epoch ({}): no earlier epoch was clearly better": "保留了最后一轮（第 {0} 轮）：之前没有哪一轮明显更好",
    "kept epoch {}: clearly better than the last ({} vs {})": "保留了第 {0} 轮：明显好于最后一轮（{1} 对 {2}）",
    "kept epoch 1, the only one": "保留了第 1 轮，也是唯一的一轮",
    "kept epoch {}: without validation photos, the one with the lowest training loss":
        "保留了第 {0} 轮：没有验证照片，因此选训练损失最低的一轮",
})

# How sure the check's accuracy is, the split as it happened, and the check on other photos (step 3).
MESSAGES.update({
    "{} of {} validation photos were named correctly ({}). Random guessing would get {} with {} classes.{}":
        "{1} 张验证照片中有 {0} 张认对了（{2!t}）。在 {4} 个类别之间随机猜测只能答对 {3}。{5!t}",
    "no better than random guessing": "不比随机猜测好",
    "poor: only a little better than guessing": "较差：只比瞎猜好一点",
    "How sure is this? With {} photos, the true figure is likely between {} and {} (95% interval).":
        "这个数字有多可靠？只用了 {0} 张照片，真实的准确率很可能在 {1} 到 {2} 之间（95% 区间）。",
    "That range includes {}, what random guessing gets: these photos cannot yet show that the model does better "
    "than guessing.": "这个区间包含随机猜测的 {0}：这些照片还不能说明模型比瞎猜更好。",
    "⚠️ Only {} validation photos: each one moves the figure by {}. With {} or more the figure is steadier.":
        "⚠️ 只有 {0} 张验证照片：每一张都会让这个数字变动 {1}。有 {2} 张或更多时，这个数字会更稳定。",
    "⚠️ Only {} photos: each one moves the figure by {}. With {} or more the figure is steadier.":
        "⚠️ 只有 {0} 张照片：每一张都会让这个数字变动 {1}。有 {2} 张或更多时，这个数字会更稳定。",
    "kept aside at random from each class (kept aside/all): {}": "从每个类别中随机留出（留出/全部）：{0}",
    "kept aside at random, between {} and {} of each class ({} of {} photos)":
        "随机留出，每个类别的 {0} 到 {1}（共 {3} 张照片中的 {2} 张）",
    "none could be kept aside": "没有照片可以留出",
    "### {} right on these photos": "### 在这些照片上答对 {0}",
    "{} of {} photos were named correctly.": "{1} 张照片中有 {0} 张认对了。",
    "{} file{} left out because they could not be used as photos.": "有 {0} 个文件无法当作照片使用，已略过。",
})
UI.update({
    "Check on other photos": "用其他照片检查",
    "A .zip with one folder per class, like the photos in the Photos step. Photos the model trained on are counted apart: "
    "only the ones it never saw show how it does on new photos.":
        "一个 .zip 文件，每个类别一个文件夹，和“照片”步骤的照片一样。模型训练时用过的照片会单独计数："
        "只有它从未见过的照片才能说明它在新照片上的表现。",
    "Labelled photos (.zip)": "已分类的照片（.zip）",
})

# Step 2: the preset once the settings match none, and a wait for a free training slot in the finished line.
MESSAGES.update({
    "Custom": "自定义",
    "{}, {} of it waiting for another training to finish": "{0!t}，其中 {1!t} 在等待另一个训练结束",
})

# Two zip folders that differ only in case became one class; the web server's brakes (fewshot/ui/server/guard.py).
MESSAGES.update({
    "The folders '{}' and {} differ only in upper/lower case, so they became one class, '{}'. "
    "If they are different things, rename one and load again.":
        "文件夹“{0}”与 {1} 只有大小写不同，因此合并成了一个类别“{2}”。如果它们是不同的东西，请改名后重新加载。",
    "Too many uploads from your address: at most {} a minute. Wait a minute and try again.":
        "来自您地址的上传次数过多：每分钟最多 {0} 次。请等一分钟再试。",
    "Too much uploaded from your address: at most {} MB a minute. Wait a minute and try again.":
        "来自您地址的上传量过多：每分钟最多 {0} MB。请等一分钟再试。",
    "Too many wrong passwords from your address. Wait {} s and try again.":
        "来自您地址的错误密码次数过多。请等待 {0} 秒后再试。",
    "Not logged in.": "尚未登录。",
})

# Projects that last (fewshot/project/, fewshot/cli/project.py): errors, the activity log, the CLI's words.
MESSAGES.update({
    "class name": "类别名称",
    "project name": "项目名称",
    "A {} cannot be empty.": "{0!t}不能为空。",
    "A {} can be at most {} characters long.": "{0!t}最多 {1} 个字符。",
    "'{}' cannot be a class name (it means a folder, not a thing).": "“{0}”不能作为类别名称（它表示文件夹，而不是一种事物）。",
    "Every project call needs an owner.": "每次项目操作都需要指明所有者。",
    "FEWSHOT_PROJECT_MAX_GB={} is not a number of gigabytes.": "FEWSHOT_PROJECT_MAX_GB={0} 不是以 GB 为单位的数字。",
    "FEWSHOT_PROJECT_TTL_DAYS={} is not a number of days.": "FEWSHOT_PROJECT_TTL_DAYS={0} 不是天数。",
    "There is no such project (it may have been deleted or expired).": "没有这个项目（它可能已被删除或已过期）。",
    "You have no project called '{}'.": "您没有名为“{0}”的项目。",
    "You already have a project called '{}'; pick another name.": "您已经有一个名为“{0}”的项目，请换一个名称。",
    "A class name cannot be empty.": "类别名称不能为空。",
    "There is no class '{}' in this project.": "此项目中没有类别“{0}”。",
    "A split is 'train' or 'val', not '{}'.": "划分只能是“train”（训练）或“val”（验证），而不是“{0}”。",
    "{} of these photos are not in this project (e.g. {}); nothing was changed.":
        "其中 {0} 张照片不在此项目中（例如 {1}），没有做任何更改。",
    "This project would grow to {}, over the limit of {} per project (limit: FEWSHOT_PROJECT_MAX_GB).":
        "此项目将增长到 {0}，超过每个项目 {1} 的上限（限制：FEWSHOT_PROJECT_MAX_GB）。",
    "This project would hold {}; the cap on this server is {} (FEWSHOT_PROJECT_MAX_GB). Nothing was added.":
        "此项目将达到 {0}，本服务器的上限是 {1}（FEWSHOT_PROJECT_MAX_GB）。没有添加任何照片。",
    "{} changed while it was being added; nothing was added.": "{0} 在添加过程中发生了变化，没有添加任何照片。",
    "Run {}'s model ({}) was not kept: with it this project would hold {}; the cap on this server is {} "
    "(FEWSHOT_PROJECT_MAX_GB). The active model is unchanged.":
        "第 {0} 次训练的模型（{1}）没有保留：加上它，此项目将达到 {2}，本服务器的上限是 {3}"
        "（FEWSHOT_PROJECT_MAX_GB）。当前模型不变。",
    "Training was not started: this project already holds {}; the cap on this server is {} "
    "(FEWSHOT_PROJECT_MAX_GB). Delete a run or some photos to make room.":
        "训练未开始：此项目已占用 {0}，本服务器的上限是 {1}（FEWSHOT_PROJECT_MAX_GB）。请删除一次训练或一些照片以腾出空间。",
    "Training was not started: a {} model takes {} here (run {}'s), and with one more this project would hold {}; "
    "the cap on this server is {} (FEWSHOT_PROJECT_MAX_GB). Delete a run or some photos to make room.":
        "训练未开始：这里一个 {0} 模型占 {1}（第 {2} 次训练的），再加一个，此项目将达到 {3}，本服务器的上限是 {4}"
        "（FEWSHOT_PROJECT_MAX_GB）。请删除一次训练或一些照片以腾出空间。",
    "This project has no run {}.": "此项目没有第 {0} 次训练。",
    "That run is no longer in this project (it may have been deleted in another tab).":
        "此项目中已没有该次训练（可能已在另一个标签页中删除）。",
    "Run {} has no model to use.": "第 {0} 次训练没有可用的模型。",
    "This project has no labelled photos yet: give some photos a class first.": "此项目还没有已分类的照片：请先给一些照片指定类别。",
    "the process training it ended without finishing": "训练它的进程未完成就结束了",
    "training was abandoned before it ended": "训练在结束前被放弃",
    "stopped before the first epoch ended": "在第一轮结束前已停止",
    # the activity log
    "added photos": "添加了照片",
    "added photos from {}": "从 {0} 添加了照片",
    "imported photos": "导入了照片",
    "{}: {} new, {} already there, {} skipped": "{0!t}：新增 {1} 张，已有 {2} 张，略过 {3} 张",
    "renamed class '{}' to '{}'": "将类别“{0}”改名为“{1}”",
    "removed class '{}'": "删除了类别“{0}”",
    "removed {} photos": "删除了 {0} 张照片",
    "renamed '{}' to '{}'": "将“{0}”改名为“{1}”",
    "labelled {} photos": "为 {0} 张照片指定了类别",
    "undid the labelling of {} photos": "撤销了 {0} 张照片的标注",
    "undid renaming class '{}' to '{}'": "撤销了将类别“{0}”改名为“{1}”",
    "undid hiding a card": "撤销了隐藏一张卡片",
    "Cards are hidden as 'reject' or 'keep', not '{}'.": "卡片只能以“reject”或“keep”方式隐藏，不能是“{0}”。",
    "exported as {}": "导出为 {0}",
    "imported from {}": "从 {0} 导入",
    "run {} started": "第 {0} 次训练开始",
    "run {} deleted": "第 {0} 次训练已删除",
    "run {} interrupted": "第 {0} 次训练被中断",
    "active run: {} (picked)": "当前使用的训练：{0}（手动选择）",
    "active run: the best one": "当前使用的训练：最好的一次",
    # import and export
    "Unknown import format '{}'; choose one of {}.": "未知的导入格式“{0}”，请从 {1} 中选择。",
    "Unknown export format '{}'; choose one of {}.": "未知的导出格式“{0}”，请从 {1} 中选择。",
    "Unknown labels format '{}'; use csv or labelstudio.": "未知的标签格式“{0}”，请使用 csv 或 labelstudio。",
    "{}: the photo path is empty.": "{0}：照片路径为空。",
    "{}: '{}' is an absolute path; write paths relative to the photos folder.": "{0}：“{1}”是绝对路径，请写相对于照片文件夹的路径。",
    "{}: '{}' points outside the photos folder.": "{0}：“{1}”指向照片文件夹之外。",
    "{} does not exist or is not a file.": "{0} 不存在或不是文件。",
    "{} is {}, over the limit of {} for a labels file.": "{0} 大小为 {1}，超过标签文件 {2} 的上限。",
    "{} does not exist.": "{0} 不存在。",
    "{}: {} would unpack to {} (limit: max extraction size or compression ratio).":
        "{0}：{1} 解压后将达到 {2}（限制：最大解压大小或压缩比）。",
    "{}: {} unpacks past {} (limit: max extraction size).": "{0}：{1} 解压后超过 {2}（限制：最大解压大小）。",
    "{}: project.json {}; nothing was imported.": "{0}：project.json {1!t}，没有导入任何内容。",
    "is not a fewshot project description": "不是 fewshot 项目描述",
    "is version {}, newer than this fewshot reads ({})": "版本为 {0}，比此 fewshot 能读取的版本（{1}）更新",
    "has no name or classes": "缺少名称或类别",
    "has no photos or runs list": "缺少照片或训练列表",
    "names an active run that is not a number": "指定的当前训练不是数字",
    "is not UTF-8 JSON": "不是 UTF-8 编码的 JSON",
    "photo {} is malformed": "第 {0} 张照片的信息格式错误",
    "run {} is malformed": "第 {0} 次训练的信息格式错误",
    "has runs with the same number or without one": "有编号重复或缺少编号的训练",
    "has a count of runs that is not a number": "训练计数不是数字",
    "{}: project.json photo {}": "{0}：project.json 第 {1} 张照片",
    "{} is not UTF-8 text (byte {} cannot be read); save it as UTF-8 and try again.":
        "{0} 不是 UTF-8 文本（第 {1} 个字节无法读取），请另存为 UTF-8 后重试。",
    "{}: the split is 'train' or 'val', not '{}'.": "{0}：划分只能是“train”或“val”，而不是“{1}”。",
    "{}: '{}' is already labelled differently in {}.": "{0}：“{1}”已在 {2} 中标为不同的类别。",
    "{}: there is no photo '{}' in this project; nothing was changed.": "{0}：此项目中没有照片“{1}”，没有做任何更改。",
    "{} names photos by their paths: say which folder they are in (--photos).":
        "{0} 用路径指明照片：请说明照片所在的文件夹（--photos）。",
    "; nothing was imported.": "；没有导入任何内容。",
    "{}: {}: {}; nothing was imported.": "{0}：{1}：{2!t}；没有导入任何内容。",
    "{} is not a readable CSV file ({}).": "{0} 不是可读取的 CSV 文件（{1}）。",
    "{} is not a Label Studio JSON-MIN export (a list of tasks).": "{0} 不是 Label Studio 的 JSON-MIN 导出文件（任务列表）。",
    "{} has {} tasks, over the limit of {} (limit: max images).": "{0} 有 {1} 个任务，超过上限 {2}（限制：最大图片数）。",
    "{} has more than {} rows (limit: max images).": "{0} 超过 {1} 行（限制：最大图片数）。",
    "{}: there is no photo '{}' in {}.": "{0}：{2} 中没有照片“{1}”。",
    "{} is not a zip archive, or it is damaged or cut off.": "{0} 不是 zip 压缩包，或已损坏、不完整。",
    "{}: photo {} is missing or damaged in the archive.": "{0}：压缩包中的照片 {1} 缺失或已损坏。",
    "{}: expected path,label[,split] but found {} columns.": "{0}：应为 path,label[,split]，但有 {1} 列。",
    "{} is not JSON (line {}: {}).": "{0} 不是 JSON（第 {1} 行：{2}）。",
    '{}: a task needs an "image" field.': "{0}：每个任务都需要“image”字段。",
    "{}: the choice is not a class name.": "{0}：所选内容不是类别名称。",
    "{}: run {}'s model file is missing.": "{0}：第 {1} 次训练的模型文件缺失。",
    # the database
    "The projects database {} {}. It was left exactly as it is; move it away (or restore a backup) and fewshot "
    "will start a new one.": "项目数据库 {0} {1!t}。它保持原样未被改动；将它移走（或恢复备份），fewshot 会新建一个。",
    "The projects database {} was written by a newer fewshot (schema version {}; this fewshot knows up to {}). "
    "Upgrade fewshot to open it; it was left exactly as it is.":
        "项目数据库 {0} 由更新版本的 fewshot 写入（结构版本 {1}，此 fewshot 最高支持 {2}）。请升级 fewshot 后再打开；它保持原样未被改动。",
    "cannot be read ({})": "无法读取（{0}）",
    "cannot be used ({})": "无法使用（{0}）",
    "is damaged ({})": "已损坏（{0}）",
    "is damaged or is not a fewshot database (its first bytes are wrong)": "已损坏或不是 fewshot 数据库（文件开头的字节不对）",
    "Application Support": "应用程序支持（macOS 文件夹名）",
    # the command line (python -m fewshot project ...)
    "{}: {} photos, {} labelled ({} train, {} validation)": "{0}：{1} 张照片，{2} 张已分类（训练 {3} 张，验证 {4} 张）",
    "create an empty project": "新建一个空项目",
    "add photos from a folder or zip (class folders label their photos)": "从文件夹或 zip 添加照片（类别文件夹为其中的照片指定类别）",
    "set labels (and splits) from a CSV or Label Studio JSON-MIN file": "从 CSV 或 Label Studio JSON-MIN 文件设置类别（和划分）",
    "photos, classes and runs of a project": "项目的照片、类别和训练",
    "your projects, most recently used first": "您的项目，最近使用的在前",
    "delete a project and every file it has": "删除一个项目及其所有文件",
    "give a project another name": "给项目改名",
    "pick the active run by its number, as `show` lists it (or 'best')": "按 `show` 列出的编号选择当前使用的训练（或“best”）",
    "'{}' is not a run number: give one that `project show` lists, or 'best'.":
        "“{0}”不是训练编号：请给出 `project show` 列出的编号，或“best”。",
    "write the project, or its labels, to a file": "将项目或其类别写入文件",
    "a new project from a project archive, ImageFolder, CSV or Label Studio file":
        "从项目压缩包、ImageFolder、CSV 或 Label Studio 文件新建项目",
    "run {}: {}, val accuracy {}{}": "第 {0} 次训练：{1}，验证准确率 {2}{3}",
    "saved projects: photos, labels, runs and models that last": "保存的项目：长期保留的照片、类别、训练和模型",
    "class for loose photos": "散放照片的类别",
    "the new project's name": "新项目的名称",
    "the folder CSV / Label Studio paths are relative to": "CSV / Label Studio 路径所相对的文件夹",
    "val loss {} acc {}": "验证损失 {0} 准确率 {1}",
    "no val": "无验证",
    "epoch {}/{}: train loss {} acc {}, {}, {}s{}": "第 {0}/{1} 轮：训练损失 {2} 准确率 {3}，{4!t}，{5} 秒{6}",
})

MESSAGES.update({  # labelling with the model's help (fewshot/labelling.py, fewshot/cli/suggest.py)
    "{} is not a folder of photos": "{0} 不是一个照片文件夹",
    "{}. The photo changed or disappeared after it was checked; try again.": "{0}。这张照片在检查之后被改动或删除了；请再试一次。",
    "stopped before the photos' features were ready": "在照片的特征准备好之前已停止",
    "{}: the first row must be the header path,label (it is {})": "{0}：第一行必须是表头 path,label（现在是 {1}）",
    "{}, row {}: {} is not a photo in {}; paths are relative to that folder":
        "{0}，第 {1} 行：{2} 不是 {3!t} 中的照片；路径是相对于该文件夹的",
    "the pool": "照片池",
    "{} is not a photo in {}": "{0} 不是 {1!t} 中的照片",
    "the number of photos to ask for must be 0 or more, not {}": "要询问的照片数量必须是 0 或更多，而不是 {0}",
    "ask next: {}": "接下来请标注：{0}",
    "not known yet": "尚不可知",
    "{} of {} suggestions at or above {} (estimated right {}):": "{1} 条建议中有 {0} 条达到或高于 {2}（估计正确率 {3!t}）：",
    "suspect: {} is labelled {}, looks like {} ({})": "可疑：{0} 被标为 {1}，看起来像 {2}（{3}）",
    "label with the model's help: what to label next, suggested classes, labels that look wrong":
        "让模型帮忙标注：接下来标哪些、建议的类别、看起来标错的类别",
})

UI.update({  # the project bar and its runs (fewshot/ui/step_project.py)
    "Project": "项目",
    "Name": "名称",
    "New project": "新建项目",
    "Rename": "重命名",
    "Delete project": "删除项目",
    "Yes, delete it and all its photos": "是的，删除它和其中所有照片",
    "Runs of this project": "本项目的训练记录",
    "project id": "项目编号",
    "runs": "训练记录",
    "Run": "训练",
    "Use this run's model": "使用这次训练的模型",
    "Delete this run": "删除这次训练",
    "Yes, delete this run": "是的，删除这次训练",
    "Export the project (.zip)": "导出项目（.zip）",
    "Project archive": "项目归档",
    "Import a project archive (.zip)": "导入项目归档（.zip）",
    "Compare run": "比较训练",
    "with run": "与训练",
    "Compare": "比较",
    "Validation accuracy per epoch": "每轮的验证准确率",
})

MESSAGES.update({  # the project bar, its runs, and what a training did to the active model
    "{} ({} photos, {} runs)": "{0}（{1} 张照片，{2} 次训练）",
    "{} ({} photos, 1 run)": "{0}（{1} 张照片，1 次训练）",
    "the active model is run {} ({})": "当前模型是第 {0} 次训练（{1}）",
    "no model yet": "还没有模型",
    "Project “{}”: {} photos ({} labelled), {}; {}. Kept on this server until you delete it.":
        "项目“{0}”：{1} 张照片（{2} 张已标注），{3!t}；{4!t}。保存在本服务器上，直到你删除它。",
    "{} runs": "{0} 次训练",
    "1 run": "1 次训练",
    "{} could not be read: {}": "{0} 无法读取：{1}",
    "Not found.": "未找到。",
    "That file was not sent to this page: upload it (no file on the server is read by its path).":
        "这个文件不是上传到本页面的：请上传它（不会按路径读取服务器上的文件）。",
    "not labelled yet": "尚未标注",
    "photo without a class": "没有类别的照片",
    "{} more photos in this project have no class yet: kept in the project, not used for training until labelled.":
        "本项目还有 {0} 张照片没有类别：它们保留在项目中，标注之后才会用于训练。",
    "1 more photo in this project has no class yet: kept in the project, not used for training until labelled.":
        "本项目还有 1 张照片没有类别：它保留在项目中，标注之后才会用于训练。",
    "run {} · {}": "第 {0} 次训练 · {1!t}",
    "run {} · {} · {}": "第 {0} 次训练 · {1!t} · {2}",
    "running": "进行中",
    "finished": "已完成",
    "stopped": "已停止",
    "failed": "失败",
    "interrupted": "已中断",
    "A training is running. Wait for it or press Stop, then change projects.": "正在训练。请等它结束或按“停止”，再切换项目。",
    "A training is running. Wait for it or press Stop, then delete the project.": "正在训练。请等它结束或按“停止”，再删除项目。",
    "A training is running. Wait for it or press Stop, then delete a run.": "正在训练。请等它结束或按“停止”，再删除训练记录。",
    "New project “{}”: load photos in the Photos step.": "新项目“{0}”：请在“照片”步骤加载照片。",
    "There is no project open to rename.": "没有打开的项目可以重命名。",
    "There is no project open to delete.": "没有打开的项目可以删除。",
    "There is no project open to export.": "没有打开的项目可以导出。",
    "Project “{}” and all its photos, runs and models are deleted.": "项目“{0}”及其所有照片、训练记录和模型已删除。",
    "Choose a run first.": "请先选择一次训练。",
    "Choose a project archive (.zip) first.": "请先选择一个项目归档（.zip）。",
    "This run ({}) is kept in the list; the active model is still run {} ({}).":
        "这次训练（{0}）保留在列表中；当前模型仍是第 {1} 次训练（{2}）。",
    "no accuracy": "无准确率",
    "project “{}”": "项目“{0}”",
    "My project": "我的项目",
    "run {}": "第 {0} 次训练",
    "Choose two runs to compare.": "请选择两次训练来比较。",
    "| setting | run {} | run {} |": "| 设置 | 第 {0} 次训练 | 第 {1} 次训练 |",
    "| accuracy | {} | {} |": "| 准确率 | {0} | {1} |",
    "The active model: run {} of this project ({}, {}).": "当前模型：本项目的第 {0} 次训练（{1!t}，{2!t}）。",
})

COLUMNS.update({"run": "训练", "active": "当前", "status": "状态", "accuracy": "准确率", "started": "开始",
                "ended": "结束", "when": "时间", "note": "备注", "settings": "设置"})

UI.update({  # step 5's Share block (fewshot/ui/share.py) and the demo page (fewshot/ui/demo.py)
    "Share a demo link": "分享演示链接",
    "A page where anyone with the link can try this model on a phone or a computer: upload a photo or take one, "
    "and see what the model answers. Visitors cannot train, see your photos or your projects. A revoked link stops "
    "working at once.":
        "一个网页：任何拿到链接的人都能在手机或电脑上试用这个模型——上传或拍一张照片，看看模型怎么回答。"
        "访问者不能训练，也看不到你的照片和项目。链接一旦撤销，立即失效。",
    "Visitors may send back a photo the model got wrong, with the right class (it lands unlabelled in this project)":
        "访问者可以把模型认错的照片连同正确类别发回来（照片以未标注状态加入本项目）",
    "Share": "分享",
    "No demo links yet.": "还没有演示链接。",
    "A link": "链接",
    "Takes feedback": "接收反馈",
    "Revoke this link": "撤销此链接",
    "Wrong? Tell us the right class": "认错了？告诉我们正确的类别",
    "The right class": "正确的类别",
    "Send this photo": "发送这张照片",
    "About this model": "关于这个模型",
    "It knows": "它认识",
    "fewshot demo": "fewshot 演示",
})

MESSAGES.update({  # demo links (fewshot/demo_links.py, fewshot/ui/demo.py, fewshot/ui/share.py)
    "This demo does not take feedback.": "这个演示不接收反馈。",
    "Pick one of the model's classes ({}).": "请选择模型的一个类别（{0}）。",
    "This photo is {} MB; at most {} MB can be sent.": "这张照片有 {0} MB；最多只能发送 {1} MB。",
    "This demo link is no longer valid.": "这个演示链接已失效。",
    "Pick the right class first.": "请先选择正确的类别。",
    "Thank you: the photo was sent to the model's owner.": "谢谢！照片已发给模型的主人。",
    "Made with fewshot from {} photos, by transfer learning from an ImageNet-pretrained {}.":
        "用 fewshot 从 {0} 张照片训练而成：在 ImageNet 预训练的 {1} 上做迁移学习。",
    "Right on {} of {} photos it did not train on.": "在 {1} 张它没训练过的照片上，答对了 {0}。",
    "It only knows the classes above: any other picture still gets one of them.":
        "它只认识上面这些类别：任何其他图片也会被归入其中之一。",
    "Share needs a model trained in a project: train one in the Train step first.":
        "分享需要一个在项目中训练的模型：请先在“训练”步骤训练一个。",
    "This project has no such live link (it may already be revoked).": "本项目没有这个有效链接（它可能已被撤销）。",
    "Run {} has no model to share ({}).": "第 {0} 次训练没有可分享的模型（{1!t}）。",
    "Choose a link first.": "请先选择一个链接。",
    "Not found.": "未找到。",
    "a predict-only demo page (and /predict API) for one saved model": "为一个保存的模型启动只做预测的演示页面（以及 /predict 接口）",
    "| link | run | feedback | photos sent back | made |": "| 链接 | 训练 | 反馈 | 发回的照片 | 创建时间 |",
    "demo link made for run {}": "为第 {0} 次训练创建了演示链接",
    "demo link revoked": "演示链接已撤销",
    "a visitor of a demo link sent a photo (they say: {})": "演示链接的访问者发来一张照片（他们说是：{0}）",
    "revoked": "已撤销",
    "on": "开",
    "off": "关",
                "ended": "结束", "note": "备注", "settings": "设置"})

# A ready Hugging Face Space and publishing it (fewshot/hub.py, fewshot/ui/step_space.py).
MESSAGES.update({
    "Could not reach the Hugging Face Hub ({}), so {} was not published. Connect to the internet and try again, "
    "or make the Space folder now (the Share step's Space folder, or python -m fewshot export MODEL --format space --out "
    "DIR) and upload its files to the Space later.":
        "无法连接 Hugging Face Hub（{0!t}），所以 {1} 没有发布。请联网后再试；或者现在先生成 Space 文件夹（“分享”步骤的"
        "“Space 文件夹”，或 python -m fewshot export MODEL --format space --out DIR），以后再把其中的文件上传到 Space。",
    "{}: no answer within {} s": "{0}：{1} 秒内没有应答",
    "HF_HUB_OFFLINE is set; unset it to publish": "设置了 HF_HUB_OFFLINE；要发布请取消这个设置",
    "Publishing {} failed: {}: {}": "发布 {0} 失败：{1}：{2}",
    "The Hugging Face Hub refused the token (it is wrong, expired or revoked). Make a token with write access at {} "
    "and try again.": "Hugging Face Hub 拒绝了这个令牌（它不对、已过期或已被撤销）。请在 {0} 创建一个有写入权限的令牌，然后再试。",
    "The token may not create or write {}: it needs write access, and the part before the / must be your user name "
    "or an organisation you can write to ({}).":
        "这个令牌无权创建或写入 {0}：令牌需要写入权限，而且 / 前面的部分必须是你的用户名，或你有写入权限的组织（{1}）。",
    "{} is not a Space name: write it as USER/NAME, e.g. ana/bird-classifier (letters, digits, '-', '_' and '.').":
        "{0} 不是有效的 Space 名称：请写成 用户名/名称，例如 ana/bird-classifier（可用字母、数字、“-”、“_”和“.”）。",
    "A Hugging Face token with write access is needed to publish; make one at {}.":
        "发布需要一个有写入权限的 Hugging Face 令牌；请在 {0} 创建。",
    "The Hugging Face Hub refused to publish {} (HTTP {})": "Hugging Face Hub 拒绝发布 {0}（HTTP {1}）",
    "✅ Published: [{}]({}). The Space builds for a minute or two, then anyone with the link can try it.":
        "✅ 已发布：[{0}]({1})。Space 需要构建一两分钟，之后任何拿到链接的人都可以试用。",
})
UI.update({
    "Share it as a Hugging Face Space": "作为 Hugging Face Space 分享",
    "A web page anyone can open to try the model, on Hugging Face's free hardware. It needs no PyTorch and no "
    "fewshot: only the model (ONNX) and a small app.":
        "一个任何人都能打开来试用模型的网页，运行在 Hugging Face 的免费硬件上。它不需要 PyTorch，也不需要 fewshot："
        "只需要模型（ONNX）和一个小应用。",
    "⬇ Space folder (.zip)": "⬇ Space 文件夹（.zip）",
    "The Space folder: unzip it and upload its files to a new Gradio Space":
        "Space 文件夹：解压后把其中的文件上传到一个新的 Gradio Space",
    "Or publish it now: make a token with write access at https://huggingface.co/settings/tokens. The token is used "
    "once and is not kept.":
        "或者现在就发布：在 https://huggingface.co/settings/tokens 创建一个有写入权限的令牌。令牌只用这一次，不会被保存。",
    "Space name": "Space 名称",
    "your-user-name/bird-classifier": "你的用户名/bird-classifier",
    "Hugging Face token": "Hugging Face 令牌",
    "Private Space": "私有 Space",
    "Publish to the Hub": "发布到 Hub",
})

# The Label step (fewshot/ui/step_label.py, label_html.py, labels.py)
MESSAGES.update({
    "**{} photos**: {} labelled in {} classes, {} without a class.":
        "**{0} 张照片**：{1} 张已标注，共 {2} 个类别；{3} 张还没有类别。",
    "Any layout: the photos join this project without a class, and you label them below.":
        "任何文件夹结构都可以：照片以“无类别”加入本项目，然后在下面标注。",
    "Choose a .zip of photos first.": "请先选择一个照片 .zip 文件。",
    "Choose a class to rename first.": "请先选择要重命名的类别。",
    "Choose or drop a folder of unsorted photos": "选择或拖入一个未分类照片的文件夹",
    "Drop a folder of unsorted photos here, or click to choose it": "把未分类照片的文件夹拖到这里，或点击选择",
    "Drop photos above; once their features are ready the photos to label first show here.":
        "请在上方拖入照片；照片特征算好后，这里会显示最先要标注的照片。",
    "Every photo has a class: go on to the Train step.": "每张照片都有类别了。请进入“训练”步骤。",
    "Hints from folder names, to review: accept a folder's name as the class of its photos.":
        "来自文件夹名的提示，请检查：可把文件夹名作为其中照片的类别。",
    "Label unsorted photos (optional)": "标注未分类的照片（可选）",
    "No class folders? Drop the pile here and label it with the model's help; it learns while you label.":
        "没有按类别分好的文件夹？把整堆照片拖到这里，在模型的帮助下标注；你标注时它也在学习。",
    "No label looks wrong to the model right now.": "目前模型没有发现可疑的标注。",
    "No pictures arrived. Drop a folder or a .zip of photos (.jpg, .png, .bmp, .gif, .webp, .tif).":
        "没有收到图片。请拖入一个照片文件夹或 .zip（.jpg、.png、.bmp、.gif、.webp、.tif）。",
    "No suggestion for '{}' is at {} or above.": "“{0}”没有置信度不低于 {1} 的建议。",
    "Or a .zip of photos (any layout)": "或一个照片 .zip（任何文件夹结构）",
    "Reading the photos' features: {} of {}": "正在计算照片特征：{0} / {1}",
    "Select one or more photos first (click, shift-click, or Select all).":
        "请先选择一张或多张照片（点击、Shift+点击，或“全选”）。",
    "Skipped {} files:": "跳过了 {0} 个文件：",
    "Suggestions come once the photos' features are ready.": "照片特征算好后才会有建议。",
    "Suggestions refreshed in {} s.": "建议已在 {0} 秒内更新。",
    "Suggestions start once two classes have labels: no photo has a class yet.":
        "至少两个类别有标注后才会给出建议：目前还没有照片有类别。",
    "Suggestions start once two classes have labels: so far only '{}' has.":
        "至少两个类别有标注后才会给出建议：目前只有“{0}”有。",
    "The features of {} photos are ready.": "{0} 张照片的特征已算好。",
    "The photos' features could not be computed: {}": "无法计算照片特征：{0}",
    "Then train in the Train step: it trains on the labelled photos of this project.":
        "然后在“训练”步骤训练：它会用本项目中已标注的照片训练。",
    "There is no project open: drop photos first.": "没有打开的项目：请先拖入照片。",
    "There is nothing to undo.": "没有可以撤销的操作。",
    "These {} labels may be wrong (or the photos may be in the wrong folder): fix or keep each one.":
        "这 {0} 个标注可能是错的（或照片放错了文件夹）：逐个修正或保留。",
    "These {} photos cover your pool best: label them first.": "这 {0} 张照片最能代表你的照片集：请先标注它们。",
    "These {} photos would teach the model most: label them next.": "标注这 {0} 张照片对模型帮助最大：请接着标注它们。",
    "(That was done in another tab, or before this page was reloaded.)": "（那是在另一个标签页里、或在本页重新加载之前做的。）",
    "{} photos changed since were left as they are.": "之后又改过的 {0} 张照片保持不变。",
    "Undone, but the class '{}' is no longer there, so no class was renamed.":
        "已撤销，但类别“{0}”已不存在，所以没有类别被改名。",
    "Undone, but the class '{}' is no longer there, so no class was split.":
        "已撤销，但类别“{0}”已不存在，所以没有类别被拆开。",
    "Undone: '{}' is a class of its own again.": "已撤销：“{0}”又是一个独立的类别了。",
    "Undone: the card is back.": "已撤销：卡片回来了。",
    "Undone: the class '{}' is called '{}' again.": "已撤销：类别“{0}”又叫“{1}”了。",
    "Undone: {} photos have the labels they had before.": "已撤销：{0} 张照片恢复了之前的标注。",
    "Unsorted photos": "未分类照片",
    "Use the labelled photos for training": "用已标注的照片训练",
    "added unsorted photos": "添加了未分类照片",
    "added unsorted photos from {}": "从 {0} 添加了未分类照片",
    "and {} more, less sure": "还有 {0} 张，把握较小",
    "{} photos added without a class ({} were already in the project).": "已添加 {0} 张无类别照片（{1} 张已在项目中）。",
    "{} photos are now '{}'.": "{0} 张照片现在属于“{1}”。",
    "{} photos have no class now.": "{0} 张照片现在没有类别。",
    "{} suggestions accepted as '{}'.": "已接受 {0} 条建议，标为“{1}”。",
    "Make a class first (its name, then Add class).": "请先建一个类别（输入名称，再点“添加类别”）。",
    "Give the selected photos a class (or press its number):": "给选中的照片指定类别（或按它的数字键）：",
    "Page {} of {}": "第 {0} 页，共 {1} 页",
    "{} photos": "{0} 张照片",
    "{} suggested, {} at or above {}": "建议 {0} 张，其中 {1} 张不低于 {2}",
    "accept all at or above": "全部接受，若不低于",
    "Fix: {}": "改为：{0}",
    "Class to rename (a name taken merges them)": "要重命名的类别（改成已有的名称会合并）",
    "⚠️ These {} photos may be in the wrong folder (a model trained on the other photos says another class; "
    "fix or keep them under Suspicious labels in the Label step):":
        "⚠️ 这 {0} 张照片可能放错了文件夹（用其他照片训练的模型认为它们属于别的类别；请在“标注”步骤的“可疑标注”中修正或保留）：",
    "- {}: in '{}', looks like '{}'": "- {0}：在“{1}”中，看起来像“{2}”",
    "- and {} more": "- 还有 {0} 张",
    "{} of the labels are accepted suggestions (the suggestions learn only from yours).":
        "其中 {0} 个标注是接受的建议（建议只从你亲自给的标注中学习）。",
})
UI.update({
    "Add class": "添加类别",
    "All photos": "全部照片",
    "Ask me": "问我",
    "Rename / merge": "重命名 / 合并",
    "Suspicious labels": "可疑标注",
    "Suggestions": "建议",
    "↶ Undo": "↶ 撤销",
    "Show": "显示",
    "Keep": "保留",
    "Accept": "接受",
    "Select all": "全选",
    "Select none": "取消选择",
    "No class": "无类别",
    "Unlabelled": "未标注",
    "All": "全部",
    "Select group": "选中这一组",
    "Reject selected": "拒绝选中的",
    "Accept the hint": "接受提示",
})

UI.update({  # a demo link's feedback, stopped by its owner (fewshot/ui/share.py)
    "Refresh the list": "刷新列表",
    "Stop feedback and delete what visitors sent": "停止反馈并删除访问者发来的照片",
    "Yes, stop it and delete the photos its visitors sent that you have not labelled":
        "是的，停止反馈，并删除访问者发来、你还没标注的照片",
})
MESSAGES.update({  # the daily caps on a demo link's feedback (fewshot/demo_links.py)
    "This link has had as many photos as it takes today; try again tomorrow.": "这个链接今天能收的照片已经收满了，请明天再试。",
    "This link takes no more photos. Deleted {} photos its visitors sent; kept {} that you had labelled.":
        "这个链接不再接收照片。已删除访问者发来的 {0} 张照片；保留了你已标注的 {1} 张。",
    "This project has no such link.": "本项目没有这个链接。",
    "feedback stopped on a demo link: {} photos its visitors sent deleted, {} kept":
        "停止了一个演示链接的反馈：删除了访问者发来的 {0} 张照片，保留 {1} 张",
})
MESSAGES.update({  # the Guard (fewshot/ui/server/guard.py): files only from their own uploader, the password brake
    "This request is over {} MB.": "这个请求超过了 {} MB。",
    "Too many wrong passwords. Wait {} s and try again.": "密码错误次数太多。请等 {} 秒后再试。",
    "A file this request names was not uploaded by you to this page. Upload the file itself: no file on the server "
    "is read by its path.": "这个请求所指的文件不是你上传到这个页面的。请上传文件本身：服务器上的文件不会按路径读取。",
})

# Numbers a person can trust when the model helped label: the check set, the 95% interval and the photos behind
# it (fewshot/check_set.py, fewshot/views.py, fewshot/card.py, fewshot/ui/demo.py, fewshot/ui/step_project.py).
MESSAGES.update({
    "Label {} more photos at random to know it within ±{} points (the Label step asks for them).":
        "再随机标注 {0} 张照片，就能把这个数字确定在 ±{1} 个百分点以内（“标注”步骤会请你标注它们）。",
    "With about {} more validation photos it would be known within ±{} points.":
        "再多大约 {0} 张验证照片，就能把这个数字确定在 ±{1} 个百分点以内。",
    "With about {} more photos it would be known within ±{} points.":
        "再多大约 {0} 张照片，就能把这个数字确定在 ±{1} 个百分点以内。",
    "⚠️ Only {} check photos: each one moves the figure by {}.":
        "⚠️ 只有 {0} 张检查照片：每一张都会让这个数字变动 {1}。",
    "Not measured yet. The model helped label this project, so only photos picked at random and labelled by you "
    "can tell how good it is: label the {} check photos the Label step asks for, then train again.":
        "还没有测量。这个项目有模型帮忙标注，所以只有随机抽出、由你亲手标注的照片才能说明它有多好："
        "请标注“标注”步骤请你标注的 {0} 张检查照片，然后再训练一次。",
    "{} of {} check photos were named correctly ({}). Random guessing would get {} with {} classes. They were "
    "picked at random and labelled by you: no accepted suggestion grades the model.{}":
        "{1} 张检查照片中有 {0} 张认对了（{2!t}）。在 {4} 个类别之间随机猜测只能答对 {3}。"
        "这些照片是随机抽出、由你亲手标注的：被采纳的建议不会用来给模型打分。{5!t}",
    "Not measured yet: label the check photos the Label step asks for.":
        "还没有测量：请标注“标注”步骤请你标注的检查照片。",
    "Not measured: no validation photos.": "未测量：没有验证照片。",
    "photos picked at random": "随机抽出的照片",
    "Checked on {} {}: {}, likely between {} and {}.": "在 {0} 张{1!t}上检查：{2}，很可能在 {3} 到 {4} 之间。",
    "Right on {} of {} photos picked at random that it did not train on (likely between {} and {}).":
        "在 {1} 张随机抽出、它没训练过的照片上，答对了 {0}（很可能在 {2} 到 {3} 之间）。",
    "Right on {} of {} photos it did not train on (likely between {} and {}).":
        "在 {1} 张它没训练过的照片上，答对了 {0}（很可能在 {2} 到 {3} 之间）。",
})
MESSAGES.update({  # the model card's interval line (fewshot/card.py): a message, so translate() finds it
    "- likely between {} and {} (95% interval), measured on {} photos picked at random and labelled by a person: "
    "no suggestion the model helped make graded it":
        "- 很可能在 {0} 到 {1} 之间（95% 区间），测量用的是 {2} 张随机抽出、由人亲手标注的照片："
        "模型帮忙给出的建议没有用来打分",
    "- likely between {} and {} (95% interval), measured on {} validation photos":
        "- 很可能在 {0} 到 {1} 之间（95% 区间），测量用的是 {2} 张验证照片",
})
UI.update({
    "likely between": "可能范围",
    "checked on": "检查照片数",
})
COLUMNS.update({"likely between": "可能范围", "checked on": "检查照片数"})

# Who gave each label (fewshot/project/labels.py, fewshot/label_files.py, fewshot/cli/project.py) and a demo
# link's visitors' photos in the Label step, to confirm or reject (fewshot/ui/tab/label_html.py, step_label.py).
MESSAGES.update({
    "A label's source is 'person' or 'suggestion', not '{}'.": "标注的来源只能是 'person'（人）或 'suggestion'（建议），不能是“{0}”。",
    "Only a suggestion has a confidence, a run or a model; a person's label has none.":
        "只有建议才有置信度、训练编号或模型；人给的标注没有这些。",
    "A suggestion's confidence is a number from 0 to 1, not {}.": "建议的置信度是 0 到 1 之间的数，不能是 {0}。",
    "A suggestion's run is the run's number in the project, not {}.": "建议对应的训练是它在项目中的编号，不能是 {0}。",
    "What suggested a label is named in 1 to {} characters.": "给出建议的模型名称须为 1 到 {0} 个字符。",
    "This project has no run {}; a suggestion names a run it made.": "本项目没有第 {0} 次训练；建议只能指向本项目做过的训练。",
    "A hint comes from a 'visitor' or a 'folder', not '{}'.":
        "提示只能来自 'visitor'（访问者）或 'folder'（文件夹），不能是“{0}”。",
    "{}: expected path,label[,split[,source]] but found {} columns.": "{0}：应为 path,label[,split[,source]]，但有 {1} 列。",
    "{}: the source is 'person' or 'suggestion', not '{}'.": "{0}：来源只能是 'person' 或 'suggestion'，不能是“{1}”。",
    "{} is not a Label Studio export (a list of tasks).": "{0} 不是 Label Studio 导出文件（任务列表）。",
    "{}: annotations and predictions are lists of objects.": "{0}：annotations 和 predictions 必须是对象列表。",
    "Select one or more of the visitors' photos first.": "请先选择一张或多张访问者发来的照片。",
    "{} photos from visitors of your demo links wait for you: they are not labels until you confirm them "
    "(Show: Suggestions).": "演示链接的访问者发来的 {0} 张照片在等你处理：在你确认之前，它们不算标注（显示：建议）。",
    "{} photos from visitors are now labelled as the visitors said.": "访问者发来的 {0} 张照片已按访问者说的类别标注。",
    "What the visitors said of {} photos is gone; the photos stay, without a class.":
        "已去掉访问者对 {0} 张照片所说的类别；照片保留，没有类别。",
    "Photos sent by visitors of your demo links, with the class they said. They are not labels until you confirm "
    "them: Confirm makes the class your label, Reject drops what the visitor said (the photo stays, without a "
    "class).": "演示链接的访问者发来的照片，以及他们说的类别。在你确认之前它们不算标注：“确认”把这个类别作为你的标注，"
               "“拒绝”去掉访问者说的类别（照片保留，没有类别）。",
    "visitors say “{}”": "访问者说是“{0}”",
    "and {} more, shown once you have gone through these": "还有 {0} 张，处理完这些后显示",
    "labels given by a person: {}, accepted suggestions: {}": "人给的标注：{0} 个，接受的建议：{1} 个",
    "set labels (and splits) from a CSV or Label Studio file: a person's, unless a row says it is an accepted "
    "suggestion (a CSV's source column, a Label Studio prediction)":
        "从 CSV 或 Label Studio 文件设置类别（和划分）：都算人给的标注，除非某一行说明它是接受的建议"
        "（CSV 的 source 列、Label Studio 的 prediction）",
})
UI.update({
    "Confirm": "确认",
    "Reject": "拒绝",
    "Confirm selected": "确认选中的",
})

# The Label step asks for the check set (fewshot/ui/tab/label_html.py, fewshot/check_set.py).
MESSAGES.update({
    "To tell you honestly how good the model is, label the {} marked 🎲 too: they were picked at random, so don't "
    "skip the hard ones.":
        "为了如实告诉你模型有多好，也请标注标有 🎲 的 {0} 张：它们是随机抽出的，所以难认的也不要跳过。",
})
MESSAGES.update({  # hostile project imports refused before anything is written (fewshot/project/io.py, archive.py)
    ", {} files skipped": "，跳过了 {} 个文件",
    "imported from {}: {} photos, {} classes, {} runs": "从 {} 导入：{} 张照片，{} 个类别，{} 次训练",
    "it is {}, over the limit of {} per photo (limit: max photo size)": "它有 {}，超过了每张照片 {} 的上限（限制：照片最大大小）",
    "it unpacks past {} (limit: max photo size)": "它解压后超过 {}（限制：照片最大大小）",
    "it would unpack to {}, over the limit of {} (limit: {})": "它解压后会有 {}，超过了 {} 的上限（限制：{}）",
    "it would unpack to {}, over the limit of {} per photo (limit: max photo size)":
        "它解压后会有 {}，超过了每张照片 {} 的上限（限制：照片最大大小）",
    "max classes": "类别数上限",
    "max images": "照片数上限",
    "max labels file size": "标注文件最大大小",
    "max model size": "模型文件最大大小",
    "max photo size": "照片最大大小",
    "max runs": "训练次数上限",
    "run {}'s model file": "第 {} 次训练的模型文件",
    "{} does not fit together ({}); nothing was imported.": "{} 的内容前后不一致（{}）；什么都没有导入。",
    "{} has no project.json: it is not a fewshot project archive.": "{} 里没有 project.json：它不是 fewshot 项目存档。",
    "{} has {} classes, over the limit of {} (limit: max classes); nothing was imported.":
        "{} 有 {} 个类别，超过了 {} 的上限（限制：类别数上限）；什么都没有导入。",
    "{} holds more than {} files (limit: max files per zip); nothing was imported.":
        "{} 里的文件超过 {} 个（限制：每个 zip 的文件数上限）；什么都没有导入。",
    "{} is a zip bomb: it would grow {} times (limit: max compression ratio {}); nothing was imported.":
        "{} 是一个 zip 炸弹：它会膨胀 {} 倍（限制：最大压缩比 {}）；什么都没有导入。",
    "{} is damaged in the archive ({}); nothing was imported.": "存档里的 {} 已损坏（{}）；什么都没有导入。",
    "{} is not a fewshot model (a .safetensors file saved by fewshot); nothing was imported.":
        "{} 不是 fewshot 模型（fewshot 保存的 .safetensors 文件）；什么都没有导入。",
    "{} unpacks past {} (limit: {})": "{} 解压后超过 {}（限制：{}）",
    "{} would unpack to {}, over the limit of {} (limit: max extraction size); nothing was imported.":
        "{} 解压后会有 {}，超过了 {} 的上限（限制：最大解压大小）；什么都没有导入。",
    "{}: photo {} is missing or damaged in the archive; nothing was imported.":
        "{}：存档里的照片 {} 缺失或已损坏；什么都没有导入。",
    "{}: project.json": "{}：project.json 文件",
    "{}: project.json class '{}'": "{}：project.json 中的类别“{}”",
    "{}: project.json declares {} {}, over the limit of {} (limit: {}); nothing was imported.":
        "{}：project.json 声明了 {} 个{}，超过了 {} 的上限（限制：{}）；什么都没有导入。",
    "{}: project.json {}": "{}：project.json 中的{}",
    "{}: project.json: {}; nothing was imported.": "{}：project.json：{}；什么都没有导入。",
    "{}: run {}'s model file": "{}：第 {} 次训练的模型文件",
    "{}: this project would hold {}; the cap on this server is {} (FEWSHOT_PROJECT_MAX_GB). Nothing was imported.":
        "{}：这个项目会占用 {}；本服务器的上限是 {}（FEWSHOT_PROJECT_MAX_GB）。什么都没有导入。",
    "{}: {} is encrypted (password-protected); nothing was imported.": "{}：{} 已加密（有密码保护）；什么都没有导入。",
    "{}: {} is missing or damaged in the archive; nothing was imported.": "{}：存档里的 {} 缺失或已损坏；什么都没有导入。",
    "{}: {} is missing.": "{}：缺少 {}。",
    "{}: {} photos is over the limit of {} (limit: max images); nothing was imported.":
        "{}：{} 张照片超过了 {} 的上限（限制：照片数上限）；什么都没有导入。",
    "{}: {}; nothing was imported.": "{}：{}；什么都没有导入。",
})

# project suggest (fewshot/cli/project.py): what to label next, the check set's photos marked.
MESSAGES.update({
    "label next: {}{}": "接下来标注：{0}{1!t}",
    " (check set: picked at random, label it too)": "（检查集：随机抽出的，也请标注）",
    "{} suggestions, {} at or above {}; {} accepted; {} labels look wrong":
        "{0} 条建议，{1} 条达到或高于 {2}；接受了 {3} 条；{4} 个标注看起来有误",
    "what to label next (the check set's photos marked), a class suggested for every unlabelled photo, labels that "
    "look wrong; --accept records those at or above the threshold as suggestions":
        "接下来该标注哪些照片（标出检查集的照片）、为每张未标注照片建议的类别、看起来有误的标注；"
        "--accept 把达到或高于阈值的建议记为接受的建议",
    "--ask is 0 or more, and --at a confidence from 0 to 1.": "--ask 必须是 0 或更大，--at 必须是 0 到 1 之间的置信度。",
    "photos to ask about (default 12)": "要询问的照片数（默认 12）",
    "accept the suggestions at or above the threshold": "接受达到或高于阈值的建议",
    "the threshold (0-1; default: the one for 95%% precision)": "阈值（0 到 1；默认：达到 95%% 精确率的那个）",
    "the backbone whose features suggest": "用哪个骨干网络的特征来给出建议",
})

# step 1's summary of a project that validates on its check set (fewshot/views.py).
MESSAGES.update({
    "the check set: photos picked at random from your pool and labelled by you; accepted suggestions never check "
    "the model": "检查集：从你的照片集中随机抽出、由你亲手标注的照片；接受的建议从不用来检查模型",
})

# an honest accept threshold (fewshot/label_trust.py, labelling.py, ui/tab/label_html.py, ui/step_label.py): judged on the
# labels a person gave only, a lower bound, and nothing accepted by default where the labels show no safe one
MESSAGES.update({
    "Accepting at or above {}: at least {} of those suggestions should be right (90% sure, judged on your {} check "
    "photos).": "接受置信度不低于 {0} 的建议：其中至少 {1} 应该是对的（有 90% 的把握，依据是你的 {2} 张检查照片）。",
    "At {} and above, at least {} of such suggestions should be right (90% sure, judged on your {} check photos, "
    "picked at random); Suspicious labels lists the ones now in doubt.":
        "在 {0} 及以上，这类建议至少 {1} 应该是对的（有 90% 的把握，依据是你随机抽出的 {2} 张检查照片）；“可疑标注”会列出现在有疑问的那些。",
    "Too few of your check photos, picked at random, reach {} to say how many of these are right.":
        "你随机抽出的检查照片中达到 {0} 的太少，无法说出其中有多少是对的。",
    "Nothing is accepted by default yet.": "目前不会默认接受任何建议。",
    "Nothing is accepted by default yet: your labels do not show a safe threshold. Label the photos asked next, or "
    "type the lowest confidence you accept beside Accept.":
        "目前不会默认接受任何建议：你的标注还不能说明哪个阈值是安全的。请标注接下来询问的照片，或在“接受”旁边填入你愿意接受的最低置信度。",
    "Every photo has a label.": "每张照片都有标注了。",
    "Suggestions start once two classes have labels.": "至少两个类别有了标注之后，才会给出建议。",
    "Too few labels to check suggestions against yet: that takes labels you gave, at least 4 in two classes. "
    "Nothing is accepted by default.":
        "用来检验建议的标注还太少：这需要你亲手给的标注，两个类别里至少 4 个。目前不会默认接受任何建议。",
    "None of your labels is on a photo picked at random (the check set), and only those show how often suggestions "
    "are right on the photos nobody labelled. Nothing is accepted by default.":
        "你的标注里没有一张是随机抽出的照片（检查集），而只有这些照片能说明建议在没人标注的照片上有多常是对的。目前不会默认接受任何建议。",
    "Your {} check photos, picked at random, do not show yet that any threshold gives {} right suggestions ({} "
    "sure). Nothing is accepted by default: type the lowest confidence you accept beside Accept.":
        "你随机抽出的 {0} 张检查照片还不能说明哪个阈值能让建议 {1} 正确（{2} 的把握）。目前不会默认接受任何建议：请在“接受”旁边填入你愿意接受的最低置信度。",
    "Your {} check photos, picked at random, do not show yet that any threshold gives {} right suggestions ({} "
    "sure); the best so far, {} and above, is at least {} right. Nothing is accepted by default: type the lowest "
    "confidence you accept beside Accept.":
        "你随机抽出的 {0} 张检查照片还不能说明哪个阈值能让建议 {1} 正确（{2} 的把握）；目前最好的是 {3} 及以上，至少 {4} 正确。"
        "目前不会默认接受任何建议：请在“接受”旁边填入你愿意接受的最低置信度。",
    "These {} labels may be wrong (or the photos may be in the wrong folder): fix or keep each one. {} of them are "
    "likely wrong; for the others the model is only unsure, so look before you fix.":
        "这 {0} 个标注可能有错（或者照片放错了文件夹）：请逐个修正或保留。其中 {1} 个很可能错了；其余的只是模型拿不准，修正前请先看一看。",
    "No suggestion is accepted by default. {}": "默认不接受任何建议。{0}",
    "On your check photos, picked at random, suggestions this sure were right {} times of {}.":
        "在你随机抽出的检查照片上，这么有把握的建议 {1} 次中对了 {0} 次。",
    "{} suggested": "建议 {0} 张",
    "{} of {} suggestions at or above {} (at least {} right, {} sure, from your {} check photos):":
        "{1} 条建议中有 {0} 条达到或高于 {2}（至少 {3} 正确，{4} 的把握，依据你的 {5} 张检查照片）：",
    "suspect ({}): {} is labelled {}, looks like {} (chance it is wrong {})":
        "可疑（{0}）：{1} 标为 {2}，看起来像 {3}（出错的可能 {4}）",
    "accepted suggestion in doubt ({}): {} was accepted as {}, now looks like {}":
        "有疑问的已接受建议（{0}）：{1} 被接受为 {2}，现在看起来像 {3}",
})
UI.update({
    "likely wrong": "很可能错了",
    "maybe wrong": "也许错了",
})
MESSAGES.update({  # Label Studio both ways (fewshot/labelstudio_*.py, label_files.py, project/io.py, cli/project.py)
    "A Label Studio export is a folder (tasks.json, label_config.xml and photos/): give --out a folder name, not {}.":
        "Label Studio 导出是一个文件夹（tasks.json、label_config.xml 和 photos/）：--out 请给一个文件夹名，而不是 {0}。",
    "{} is a file; give --out a new folder for the Label Studio export.":
        "{0} 是一个文件；请给 --out 一个新文件夹来放 Label Studio 导出。",
    "{} already holds other files; give --out a new folder for the Label Studio export (an earlier export is "
    "replaced).": "{0} 里已有其他文件；请给 --out 一个新文件夹来放 Label Studio 导出（之前的导出会被替换）。",
    "{} is not inside {}: Label Studio serves local files only from under its document root.":
        "{0} 不在 {1} 里面：Label Studio 只提供其根目录（document root）下的本地文件。",
    "Label Studio tasks of project '{}' in {}: {} tasks, {} with a person's label (annotations), {} with an accepted "
    "suggestion (predictions), {} unlabelled.":
        "项目“{0}”的 Label Studio 任务在 {1}：共 {2} 个任务，{3} 个带有人给的标注（annotations），{4} 个带有已接受的建议"
        "（predictions），{5} 个未标注。",
    "To open them in Label Studio:": "在 Label Studio 中打开它们：",
    "1. Start Label Studio so that it serves the photos from this folder:":
        "1. 启动 Label Studio，让它从这个文件夹提供照片：",
    "2. Create a project; in Settings, Labeling Interface, Code, paste label_config.xml.":
        "2. 创建一个项目；在 Settings（设置）、Labeling Interface、Code 中粘贴 label_config.xml 的内容。",
    "3. In Settings, Cloud Storage, Add Source Storage: Local files, absolute local path {}. Add it but do not sync "
    "it: syncing would add every photo again, as tasks without labels.":
        "3. 在 Settings、Cloud Storage、Add Source Storage 中选择 Local files，绝对本地路径填 {0}。添加它，但不要同步"
        "（Sync）：同步会把每张照片再添加一次，成为没有标注的任务。",
    "4. Import tasks.json (Import, Upload Files).": "4. 导入 tasks.json（Import，Upload Files）。",
    "Back to fewshot: export from Label Studio as JSON, JSON-MIN or CSV, then:":
        "回到 fewshot：在 Label Studio 中导出为 JSON、JSON-MIN 或 CSV，然后运行：",
    "{} task {}: a task is an object with an \"image\" field.": "{0} 任务 {1}：任务应是带有“image”字段的对象。",
    "{} row {}: it has more values than the header has columns.": "{0} 第 {1} 行：值的个数多于表头的列数。",
    "{}: {} is not a list of objects.": "{0}：{1} 不是对象列表。",
    "{}: more than one column could hold the class ({}); keep only the one of the Choices.":
        "{0}：不止一列可能是类别（{1}）；请只保留 Choices 那一列。",
    "{}: '{}' matches two photos, '{}' and '{}'; give the folder of Label Studio's images (--images) to match them "
    "by content.": "{0}：“{1}”同时对应两张照片，“{2}”和“{3}”；请给出 Label Studio 图片所在的文件夹（--images），按内容来对应。",
    "{}: none of its {} tasks names a photo here (the first: '{}'); nothing was changed.":
        "{0}：它的 {1} 个任务没有一个对应到这里的照片（第一个：“{2}”）；没有做任何更改。",
    "{} tasks named no photo here and were left out: {}": "{0} 个任务没有对应到这里的任何照片，已略过：{1}",
    "{} predictions were listed by id only; export a snapshot with full predictions to bring them":
        "{0} 条预测只列出了编号；要带上它们，请导出包含完整预测的快照（snapshot）",
    "{} is not a folder (the folder of Label Studio's images).": "{0} 不是文件夹（应为 Label Studio 图片所在的文件夹）。",
    "{} is not a folder (the folder of the photos the tasks name).": "{0} 不是文件夹（应为任务所指照片所在的文件夹）。",
    "{} holds more than {} images; point --photos at the folder of the photos the tasks name.":
        "{0} 里有超过 {1} 张图片；请让 --photos 指向任务所指照片所在的文件夹。",
    "set {} labels; {} of {} photos are labelled": "设置了 {0} 个标注；{2} 张照片中有 {1} 张已标注",
    "imported '{}': {} photos, {} labelled, {} runs": "已导入“{0}”：{1} 张照片，{2} 张已标注，{3} 次训练",
    "Label Studio {} export: {} tasks; {} photos labelled by a person, {} by an accepted suggestion":
        "Label Studio {0} 导出：{1} 个任务；{2} 张照片由人标注，{3} 张来自已接受的建议",
    "Label Studio's JSON, JSON-MIN or CSV export": "Label Studio 导出的 JSON、JSON-MIN 或 CSV 文件",
    "the folder of Label Studio's images (its media/upload folder or local-files root), to match tasks to photos by "
    "content": "Label Studio 图片所在的文件夹（它的 media/upload 文件夹或本地文件根目录），用于按内容把任务对应到照片",
    "write the project, or its labels, to a file (labelstudio: a folder Label Studio opens, with the steps)":
        "把项目或它的标注写入文件（labelstudio：一个 Label Studio 能打开的文件夹，附带步骤说明）",
    "labelstudio: the folder Label Studio serves local files from, if not the export folder itself":
        "labelstudio：Label Studio 提供本地文件的根文件夹（如果不是导出文件夹本身）",
    "error: --document-root is for --format labelstudio": "错误：--document-root 只用于 --format labelstudio",
    # the steps' tabs (fewshot/ui/nav.py)
    "Photos": "照片",
    "Label": "标注",
    "Try": "试用",
    "Next": "下一步",
    "Next: your photos →": "下一步：你的照片 →",
    "Next: give the photos their classes →": "下一步：给照片标上类别 →",
    "Next: train the model →": "下一步：训练模型 →",
    "Next: check the model →": "下一步：检查模型 →",
    "Next: try it on a new picture →": "下一步：用一张新图片试试 →",
    "Next: take it away or share it →": "下一步：带走或分享模型 →",
    # the one drop zone (fewshot/ui/step_data.py)
    "Choose or drop your photos: a folder, a .zip or loose photos": "选择或拖入你的照片：文件夹、.zip 或零散的照片",
    "Drop your photos here: a folder, a .zip, or loose photos": "把照片拖到这里：文件夹、.zip 或零散的照片",
    "Sorted into one subfolder per class (e.g. {} and {}, or a {} + {} layout), they are ready to train. Not sorted? "
    "They go to the Label step, where you give each one its class with the model's help.":
        "如果每个类别一个子文件夹（例如 {0} 和 {1}，或 {2} + {3} 的结构），就可以直接训练。没有分好？"
        "它们会进入“标注”步骤，在模型帮助下给每张照片标上类别。",
    "Choose photos or a .zip…": "选择照片或 .zip…",
    "📁 “{}”: {} pictures in {} class folders, ready to train (the report is below).":
        "📁 “{0}”：{2} 个类别文件夹里共 {1} 张图片，可以训练了（报告在下方）。",
    "🗂 “{}” is not sorted into class folders: its {} new photos are in the Label step.":
        "🗂 “{0}” 没有按类别文件夹分好：其中 {1} 张新照片已放进“标注”步骤。",
    "🗂 {} photos without class folders went to the Label step, where you give each one its class ({} were already "
    "in the project).": "🗂 {0} 张没有类别文件夹的照片已进入“标注”步骤，请在那里给每张照片标上类别（其中 {1} 张已在项目里）。",
    "Drop one .zip at a time, without other photos beside it (or unzip it and drop the folder).":
        "一次只拖入一个 .zip，旁边不要带其他照片（或者解压后拖入文件夹）。",
    "📁 Drop photos": "📁 拖入照片",
    "🗂 {} new photos without class folders are in the Label step.": "🗂 {0} 张没有类别文件夹的新照片已放进“标注”步骤。",
    "{}, the usual choice, cannot start here: its ImageNet weights are not on this machine, and the machine is "
    "offline. {} is chosen instead: its weights are here.":
        "通常选用的 {0} 在这里无法开始：它的 ImageNet 权重不在这台机器上，而这台机器没有联网。已改选 {1}：它的权重就在这里。",
    "your photos": "你的照片",
    # step 2's settings: plain words first, the term in brackets
    "Starting network": "起点网络",
    "A network that already knows everyday pictures; its knowledge is re-used (the “backbone”). ✓ marks one already "
    "on this machine.": "一个已经认识日常图片的网络，复用它的知识（即“骨干网络”）。✓ 表示它已在这台机器上。",
    "Rounds of training": "训练轮数",
    "How many times the model sees every training photo (“epochs”).": "模型把每张训练照片看多少遍（即“训练轮数”）。",
    "Step size": "步长",
    "How big each correction step is (the “learning rate”). 0.001 is a good start; lower it if the curves jump.":
        "每一步修正有多大（即“学习率”）。0.001 是不错的起点；曲线跳动时就调低。",
    "How much of the network learns": "网络中参与学习的部分",
    "The rest keeps what it learned on ImageNet (letting more layers learn is called “unfreezing”).":
        "其余部分保留在 ImageNet 上学到的知识（让更多层参与学习叫作“解冻”）。",
    "Photos per step": "每步照片数",
    "Photos per correction step (the “batch size”): bigger is smoother but needs more memory.":
        "每一步修正用的照片数（即“批大小”）：越大越平稳，但更占内存。",
    "Varied copies of photos": "照片的变化副本",
    "Random changes to training photos, so the model learns the object, not the picture (“augmentation”).":
        "对训练照片做随机变化，让模型学到物体本身而不是这张照片（即“数据增强”）。",
    "Less over-confidence": "减少过度自信",
    "Keeps the model from being over-confident (“label smoothing”); 0.1 is usual.":
        "防止模型过于自信（即“标签平滑”）；通常用 0.1。",
    "Stop when it stops improving": "不再进步时停止",
    "Stop after this many rounds without improvement (“early stop”; 0 = never).":
        "连续这么多轮没有提升就停止（即“提前停止”；0 = 从不）。",
    "Count every class the same": "每个类别同等计算",
    "Each class counts the same, however many photos it has (a “class-balanced loss”). Turn it off only if your "
    "photo counts match how often each class really occurs.":
        "每个类别的分量相同，不论它有多少张照片（即“类别均衡损失”）。只有当各类照片的数量正好反映每类实际出现的频率时，才关闭它。",
})

MESSAGES.update({  # the page's steps: one-click downloads, progress, plurals, terms (fewshot/ui/step_*.py, terms.py)
    # terms behind plain words (fewshot/ui/terms.py)
    "Cross-validation: each photo is checked by a model trained without it, so the model never grades its own "
    "homework.": "交叉验证：每张照片都由一个没用它训练的模型来检查，模型不会给自己的作业打分。",
    "Features: the numbers the network reads off a photo (shapes, colours, textures); suggestions are made from them.":
        "特征：网络从照片中读出的数字（形状、颜色、纹理）；建议就是根据它们给出的。",
    "Backbone: the network, already trained on everyday pictures, that reads your photos; only its last part learns "
    "your classes.": "骨干网络：已经在日常图片上训练过、用来读取你的照片的网络；只有它的最后一部分学习你的类别。",
    "Unfreezing: letting more of the pretrained network's layers change while it trains.":
        "解冻：训练时让预训练网络的更多层也参与调整。",
    "Epoch: one pass over every training photo.": "轮次（epoch）：把每张训练照片都看一遍。",
    "Run: one training of this project, kept with its settings, its curves and its model.":
        "训练记录：本项目的一次训练，连同它的设置、曲线和模型一起保存。",
    "Label smoothing: tells the model never to be completely sure, which often makes it steadier.":
        "标签平滑：让模型永远不要百分之百确定，这通常会让它更稳定。",
    "Test-time augmentation: the model looks at several versions of the picture (mirrored, corners) and averages "
    "its answers.": "测试时增强：模型看图片的几个版本（镜像、四角），再把答案取平均。",
    "Safetensors: a safe file format for a model's numbers; fewshot opens it again.":
        "safetensors：一种安全的模型参数文件格式；fewshot 可以再次打开它。",
    "TorchScript: the model as one file that PyTorch programs run without fewshot.":
        "TorchScript：把模型存成一个文件，PyTorch 程序不需要 fewshot 就能运行它。",
    "ONNX: an open model format that apps on phones, in browsers and on servers run.":
        "ONNX：一种开放的模型格式，手机、浏览器和服务器上的应用都能运行。",
    "Validation photos: photos kept out of training, so the check is on photos the model never learned from.":
        "验证照片：不参与训练的照片，所以检查用的是模型从没学过的照片。",
    # the Label step (fewshot/ui/step_label.py, tab/label_html.py, tab/labels.py)
    "**{} photos**: {} labelled in 1 class, {} without a class.": "**{0} 张照片**：{1} 张已标注，共 1 个类别；{2} 张还没有类别。",
    "**1 photo**: {} labelled in {} classes, {} without a class.": "**1 张照片**：{0} 张已标注，共 {1} 个类别；{2} 张还没有类别。",
    "**1 photo**: {} labelled in 1 class, {} without a class.": "**1 张照片**：{0} 张已标注，共 1 个类别；{1} 张还没有类别。",
    "1 of the labels is an accepted suggestion (the suggestions learn only from yours).":
        "其中 1 个标注是接受的建议（建议只从你自己的标注中学习）。",
    "{} of the labels are accepted suggestions (the suggestions learn only from yours).":
        "其中 {0} 个标注是接受的建议（建议只从你自己的标注中学习）。",
    "1 photo from visitors of your demo links waits for you: it is not a label until you confirm it (Show: "
    "Suggestions).": "你的演示链接的访客发来的 1 张照片在等你：你确认之前它不算标注（显示：建议）。",
    "{} photos from visitors of your demo links wait for you: they are not labels until you confirm them (Show: "
    "Suggestions).": "你的演示链接的访客发来的 {0} 张照片在等你：你确认之前它们不算标注（显示：建议）。",
    "Skipped 1 file:": "跳过了 1 个文件：",
    "✅ The Train step will train on {} photos in 1 class:": "✅ “训练”步骤将用 1 个类别的 {0} 张照片训练：",
    "✅ The Train step will train on {} photos in {} classes:": "✅ “训练”步骤将用 {1} 个类别的 {0} 张照片训练：",
    "- {}: 1 photo": "- {0}：1 张照片",
    "- {}: {} photos": "- {0}：{1} 张照片",
    "1 photo is now '{}'.": "1 张照片现在属于“{0}”。",
    "1 photo has no class now.": "1 张照片现在没有类别。",
    "1 suggestion accepted as '{}'.": "已接受 1 条建议，标为“{0}”。",
    "1 photo from visitors is now labelled as the visitors said.": "访客发来的 1 张照片已按访客所说标注。",
    "What the visitors said of 1 photo is gone; the photo stays, without a class.":
        "已去掉访客对 1 张照片的说法；照片保留，没有类别。",
    "1 suggestion of '{}' rejected: the photo stays without a class.": "已拒绝 1 条“{0}”的建议：照片保留，没有类别。",
    "{} suggestions of '{}' rejected: the photos stay without a class.": "已拒绝 {0} 条“{1}”的建议：照片保留，没有类别。",
    "Fixed: 1 photo is now '{}'.": "已改正：1 张照片现在属于“{0}”。",
    "Kept: the photo stays '{}' and is not asked about again.": "已保留：这张照片仍属于“{0}”，不会再被问到。",
    "Class '{}' made: select photos, then press its button.": "已建立类别“{0}”：选中照片，再按它的按钮。",
    "The class '{}' is called '{}' now.": "类别“{0}”现在叫“{1}”。",
    "The classes '{}' and '{}' are one class now: '{}'.": "类别“{0}”和“{1}”现在合并为一个类别：“{2}”。",
    "Undone: 1 photo has the label it had before.": "已撤销：1 张照片恢复了原来的标注。",
    "1 photo changed since was left as it is.": "之后改过的 1 张照片保持不变。",
    "This photo covers your pool best: label it first.": "这张照片最能代表你的照片集：先标注它。",
    "This photo would teach the model most: label it next.": "这张照片最能教会模型：接下来标注它。",
    "{} photo": "{0} 张照片",
    "1 photo": "1 张照片",
    "It first {}, then suggests a class for each.": "它先{0}，然后为每张照片建议一个类别。",
    "It first": "它先",
    "reads every photo once": "把每张照片读一遍",
    ", then suggests a class for each.": "，然后为每张照片建议一个类别。",
    # step 2's line for a reopened project's active run (fewshot/ui/step_train.py)
    "The active model: run {} of this project, {} after 1 epoch: {} right on the validation photos.":
        "当前模型：本项目的第 {0} 次训练，训练 1 轮后{1!t}：验证照片上 {2} 正确。",
    "The active model: run {} of this project, {} after {} epochs: {} right on the validation photos.":
        "当前模型：本项目的第 {0} 次训练，训练 {2} 轮后{1!t}：验证照片上 {3} 正确。",
    "The active model: run {} of this project, {} after 1 epoch.": "当前模型：本项目的第 {0} 次训练，训练 1 轮后{1!t}。",
    "The active model: run {} of this project, {} after {} epochs.": "当前模型：本项目的第 {0} 次训练，训练 {2} 轮后{1!t}。",
    "finished": "已完成",
    "stopped": "已停止",
    "failed": "失败",
    "interrupted": "已中断",
    # step 3's check on other photos (fewshot/ui/step_check.py)
    "How the model does on photos kept aside, which it never learned from.": "模型在留出的、从没学过的照片上表现如何。",
    "⏳ Opening the photos…": "⏳ 正在打开照片…",
    "⏳ {} of 1 photo checked.": "⏳ 已检查 1 张照片中的 {0} 张。",
    "⏳ {} of {} photos checked.": "⏳ 已检查 {1} 张照片中的 {0} 张。",
    # step 4 and 5 (fewshot/ui/step_try.py, step_take.py, step_space.py, share.py)
    "Several looks, one answer": "多看几次，给出一个答案",
    "Export saves the model file at once; the files below say how to feed it.":
        "“导出”会立即保存模型文件；下面的文件说明怎样给它输入。",
    "For fewshot": "用于 fewshot",
    "For PyTorch programs": "用于 PyTorch 程序",
    "For almost any app": "用于几乎任何应用",
    "Unzip it and upload its files to a new Gradio Space.": "解压后，把其中的文件上传到一个新的 Gradio Space。",
    "This link takes no more photos. Deleted 1 photo its visitors sent; kept {} that you had labelled.":
        "此链接不再接收照片。已删除访问者发来的 1 张照片；保留了你已标注的 {0} 张。",
})

UI.update({  # the page's steps' fixed words (fewshot/ui/step_*.py)
    "Look several times": "多看几次",
    "Click to Access Webcam": "点击打开摄像头",
    "Averages six views of the picture (mirror, corners): slower, often steadier. Experts call it test-time "
    "augmentation.": "对图片的六个视图（镜像、四角）取平均：更慢，但通常更稳定。专业上叫“测试时增强”。",
    "For fewshot: open it here again (.safetensors)": "用于 fewshot：以后在这里再次打开（.safetensors）",
    "For PyTorch programs (TorchScript)": "用于 PyTorch 程序（TorchScript）",
    "For almost any app: phones, browsers, servers (ONNX)": "用于几乎任何应用：手机、浏览器、服务器（ONNX）",
    "Photos without class folders come here from the Photos step: drop them there, in any shape.":
        "没有类别文件夹的照片会从“照片”步骤来到这里：在那里拖入即可，什么结构都行。",
    "No class folders? Give each photo its class here with the model's help; it learns while you label.":
        "没有类别文件夹？在这里借助模型给每张照片标上类别；你标注的同时它也在学习。",
})

MESSAGES.update({  # issue 24: counts in the singular (fewshot/i18n.py plural), the runs table in the page's words
    "1 photo": "1 张照片",
    "{} ({}, 1 run)": "{0}（{1!t}，1 次训练）",
    "{} ({}, {} runs)": "{0}（{1!t}，{2} 次训练）",
    "Project “{}”: {} ({} labelled), {}; {}. Kept on this server until you delete it.":
        "项目“{0}”：{1!t}（{2} 张已标注），{3!t}；{4!t}。保存在本服务器上，直到你删除它。",
    "✓ in use": "✓ 使用中",
    "in use": "使用中",
    "Failed after training had started.": "训练开始后失败。",
    "Failed after training had started: {}.": "训练开始后失败：{0!t}。",
    "layers chosen from your photos": "按你的照片选择训练哪些层",
    "last layer only": "只训练最后一层",
    "last block too": "也训练最后一个模块",
    "last two blocks too": "也训练最后两个模块",
    "all layers": "训练所有层",
    "starts from ImageNet": "从 ImageNet 预训练权重开始",
    "starts from scratch": "从零开始",
    "at most 1 epoch": "最多 1 轮",
    "at most {} epochs": "最多 {0} 轮",
    "learning rate {}": "学习率 {0}",
    "no augmentation": "不做数据增强",
    "light augmentation": "轻度数据增强",
    "strong augmentation": "强力数据增强",
    "batches of {}": "每批 {0} 张",
    "seed {}": "随机种子 {0}",
    "{} (run {})": "{0}（第 {1} 次训练）",
    # the command line (fewshot/cli/project.py) when it finds no project: where the page's projects are
    "The command line's projects are in {} (FEWSHOT_DATA_DIR).{} The page shares them when `python app.py` serves "
    "one person (listening on this machine only, as it does by default, without --auth or --share) with the same "
    "FEWSHOT_DATA_DIR. On a shared server each browser's or login's projects are its own: use \"Export the project "
    "(.zip)\" on the page, then `python -m fewshot project import FILE`.":
        "命令行的项目在 {0}（FEWSHOT_DATA_DIR）。{1}当 `python app.py` 只为一个人服务（只在本机监听，这是默认设置，"
        "且没有 --auth 或 --share）并使用同一个 FEWSHOT_DATA_DIR 时，页面与命令行共用这些项目。在共享的服务器上，"
        "每个浏览器或登录用户的项目只属于它自己：在页面上点“导出项目（.zip）”，再运行 "
        "`python -m fewshot project import FILE`。",
    " 1 project in it belongs to a browser or a login of the page.": "其中 1 个项目属于页面的某个浏览器或登录用户。",
    " {} projects in it belong to browsers or logins of the page.": "其中 {0} 个项目属于页面的浏览器或登录用户。",
    "No projects yet. {}": "还没有项目。{0}",
    # the project's activity log (fewshot/project/runs.py, store.py)
    "a training did not start": "有一次训练没能开始",
    "handed over to '{}'": "已移交给“{0}”",
})

COLUMNS.update({"epochs": "轮数"})

MESSAGES.update({  # the project bar's status, which its render says (a callback's words are looked up as messages)
    "No project yet: load photos in the Photos step and one is made for you.": "还没有项目：在“照片”步骤加载照片，就会自动为你新建一个。",
})
