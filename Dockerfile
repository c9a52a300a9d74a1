# fewshot in a container. CPU by default:
#   docker build -t fewshot .
#   docker run -p 7860:7860 -v fewshot-cache:/cache -v fewshot-data:/data fewshot
# CUDA (needs the NVIDIA container toolkit on the host; run with --gpus all):
#   docker build --build-arg TORCH_VARIANT=cu128 -t fewshot:cuda .
FROM python:3.11-slim

ARG TORCH_VARIANT=cpu
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TORCH_HOME=/cache/torch \
    FEWSHOT_CACHE_DIR=/cache/features \
    FEWSHOT_DATA_DIR=/data/fewshot \
    FEWSHOT_HOST=0.0.0.0 \
    FEWSHOT_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False

RUN useradd --create-home --uid 1000 app && mkdir -p /cache /data && chown app /cache /data
WORKDIR /home/app/fewshot

COPY requirements.txt ./
# torch/torchvision come from PyTorch's own index for the chosen variant (cpu is ~10x smaller than CUDA)
RUN pip install --extra-index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" -r requirements.txt

COPY --chown=app app.py ./
COPY --chown=app fewshot ./fewshot
COPY --chown=app assets ./assets

USER app
# weights (TORCH_HOME) and cached features survive container restarts in /cache, projects (photos, runs,
# models: FEWSHOT_DATA_DIR) in /data
VOLUME ["/cache", "/data"]
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('FEWSHOT_PORT', '7860'), timeout=4)"
CMD ["python", "app.py"]
