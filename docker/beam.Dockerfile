# Beam worker image for Dataflow (custom container) and portable runners (Flink/Spark).
# Build from the repository root:
#   docker build -f docker/beam.Dockerfile -t REGION-docker.pkg.dev/PROJECT/kilm/beam:0.1.0 .
# Use with: --sdk_container_image REGION-docker.pkg.dev/PROJECT/kilm/beam:0.1.0
FROM apache/beam_python3.11_sdk:2.77.0

# Versions match requirements.txt (tests/test_docker.py checks they agree).
RUN pip install --no-cache-dir \
    mwxml==0.3.8 \
    mwparserfromhell==0.7.2 \
    sentencex==1.0.32 \
    "tokenizers>=0.21,<0.24" \
    "sentencepiece>=0.2,<1" \
    "numpy>=1.26,<3"

WORKDIR /opt/kilm
COPY pyproject.toml README.md ./
COPY kilm ./kilm
COPY pipeline ./pipeline
RUN pip install --no-cache-dir --no-deps .

# The Beam SDK harness stays the entrypoint of the base image.
ENTRYPOINT ["/opt/apache/beam/boot"]
