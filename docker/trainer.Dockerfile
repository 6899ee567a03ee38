# Trainer image: CUDA, torch, the fairseq fork and the kilm plugin, for GPU nodes (torchrun / SLURM).
# Build from the repository root:
#   docker build -f docker/trainer.Dockerfile -t kilm-trainer:0.1.0 .
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-dev python3.11-venv build-essential git \
    && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Same staged install as scripts/install.sh (versions from requirements.txt): torch first (the CUDA
# build here), then fairseq-fixed without its torchaudio dependency, then the rest.
RUN pip install --upgrade pip==25.3 \
    && pip install torch==2.13.0 \
    && pip install "numpy>=1.26,<3" "cython>=3.0" \
    && pip install --no-build-isolation --no-deps fairseq-fixed==0.12.3.1
WORKDIR /opt/kilm
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY pyproject.toml README.md ./
COPY kilm ./kilm
COPY pipeline ./pipeline
COPY trainer ./trainer
COPY eval ./eval
RUN pip install --no-deps .

ENTRYPOINT ["python", "-m", "trainer.launch"]
