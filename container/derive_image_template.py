"""Write container/template.yaml (the Lambda image variant) from template.yaml (the zip variant).

``make container-template`` runs it; tests/unit/container/test_image_template.py fails when the two
drift apart. The zip template is the source: the image variant drops the layers, Runtime, Handler
and SnapStart (zip functions only), adds ``PackageType: Image`` and the Docker build metadata.
Text edits instead of a YAML round trip, so the comments and layout of the source survive.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEADER = """Description: >-
  Real-time card-fraud scoring, container-image variant: the same FastAPI + Mangum function and
  ONNX model packaged as a Lambda container image (container/Dockerfile, target lambda), behind
  the same API Gateway REST API, stage throttling, optional usage plan and alarm-guarded canary
  deployments as the zip variant in ../template.yaml.

# Generated from ../template.yaml by container/derive_image_template.py (make container-template).
# What differs: no layers (the model, policy and dependencies are in the image), no Runtime/Handler
# (the image's CMD), no SnapStart (Lambda offers it for zip functions only).
# Build and deploy from the repository root:
#   sam build -t container/template.yaml && sam deploy --guided

"""
IMAGE_METADATA = """    Metadata:
      # sam build runs `docker build` with these (paths relative to this file).
      DockerContext: ..
      Dockerfile: container/Dockerfile
      DockerBuildTarget: lambda
      DockerTag: python3.13
"""
ARCHITECTURE_TEXT = """      Instruction set of the function. The image must be built for the same one: arm64 needs
      an arm64 base image (see docs/container.md).
"""
BLOCK = r"(?:(?:    |      |        ).*\n|\s*\n)+?"


def derive(s: str) -> str:
    s = s.replace(s[s.index("Description: >-") : s.index("Metadata:")], HEADER)
    s = s.replace("[SnapStart, ProvisionedConcurrency]", "[ProvisionedConcurrency]")
    s = re.sub(rf"  SnapStart:\n    Type: String\n{BLOCK}(?=  \w)", "", s)
    s = s.replace(" Excludes SnapStart.", "")
    s = re.sub(rf"Rules:\n  SnapStartExcludesProvisionedConcurrency:\n{BLOCK}(?=\w)", "", s)
    s = re.sub(r"  UseSnapStart: .*\n", "", s)
    s = re.sub(r"    Runtime: python3\.\d+\n", "", s, count=1)
    s = re.sub(rf"(?:  #.*\n)*  PolicyLayer:\n{BLOCK}(?=  DependenciesLayer:)", "", s)
    s = re.sub(rf"  ModelLayer:\n{BLOCK}(?=  DependenciesLayer:)", "", s)
    s = re.sub(rf"  DependenciesLayer:\n{BLOCK}(?=  \w)", "", s)
    s = re.sub(
        r"      CodeUri: function/\n      Handler: .*\n      Layers:\n(?:        - .*\n)+",
        "      PackageType: Image\n",
        s,
    )
    s = re.sub(r"      SnapStart: .*\n", "", s)
    s = re.sub(r"    Metadata:\n      BuildMethod: makefile.*\n", IMAGE_METADATA, s)
    s = re.sub(r"  ModelLayerArn:\n(?:    .*\n)+?(?=  \w|\Z)", "", s)
    s = re.sub(r"  DependenciesLayerArn:\n(?:    .*\n)+?(?=  \w|\Z)", "", s)
    s = re.sub(r"  PolicyLayerArn:\n(?:    .*\n)+?(?=  \w|\Z)", "", s)
    arch = re.search(r"(  Architecture:\n(?:    (?!Description).*\n)+    Description: >-\n)((?:      .*\n)+)", s)
    if arch:
        s = s.replace(arch.group(0), arch.group(1) + ARCHITECTURE_TEXT)
    return s


if __name__ == "__main__":
    source = (ROOT / "template.yaml").read_text(encoding="utf-8")
    (ROOT / "container" / "template.yaml").write_text(derive(source), encoding="utf-8")
    print("wrote container/template.yaml")
