"""The hosting stand-in serves every checkpoint kind the trainer writes: a classifier with its labels
(through `/v1/classification` unchanged), an embedding model (TEI's shape), a LoRA adapter as an
adapter component on its base component and as a model of its own, and a single-model endpoint."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

# Trains or serves tiny-local: one such test at a time, all on one pytest-xdist worker (Makefile).
pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("tiny-models")]

REPO = Path(__file__).resolve().parents[2]
TRAINING_PYTHON = REPO / ".venv-train" / "bin" / "python"
ROLE = "arn:aws:iam::123456789012:role/relay-local-hosting"
IMAGES = {
    "chat": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.33.0-lmi15.0.0-cu128",
    "classifier": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.6.0-cpu-py312",
    "embedding": "683313688378.dkr.ecr.us-east-1.amazonaws.com/tei-cpu:2.0.1-tei1.8.1-cpu-py310-ubuntu22.04",
}
LABELS = ["negative", "positive"]
# Derives the other checkpoint kinds from tiny-local as the trainer saves them (seeded, so repeatable).
MAKE_CHECKPOINTS = """
import json, sys, torch
from pathlib import Path
from peft import LoraConfig, get_peft_model
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
base, out, labels = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
torch.manual_seed(0)
tokenizer = AutoTokenizer.from_pretrained(base)
def save(model, name, task, adapter=False, extra=None):
    model.save_pretrained(out / name); tokenizer.save_pretrained(out / name)
    meta = {"task_type": task, "training_technique": "SFT", "base_model": "tiny-local", "adapter": adapter}
    (out / name / "relay_model.json").write_text(json.dumps(meta))
    for file, document in (extra or {}).items():
        (out / name / file).write_text(json.dumps(document))
head = dict(num_labels=2, id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
save(AutoModelForSequenceClassification.from_pretrained(base, **head), "classifier", "classification",
     extra={"labels.json": {"problem_type": "single_label_classification", "labels": labels}})
save(AutoModel.from_pretrained(base), "embedding", "embedding")
lora = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
save(get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora), "adapter", "text-generation", adapter=True)
"""

if not TRAINING_PYTHON.exists():
    pytest.skip("the serving processes need .venv-train (make training)", allow_module_level=True)


def wait(describe: Any, key: str, wanted: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (described := describe())[key] != wanted:
        assert described[key] != "Failed", described.get("FailureReason")
        assert time.monotonic() < deadline, f"still {described[key]} after {timeout}s"
        time.sleep(0.2)
    return dict(described)


@pytest.fixture(scope="module")
def sagemaker(local_stack: Any) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture(scope="module")
def checkpoints(local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from local import base_models

    assert base_models.wait_ready() is None
    out = tmp_path_factory.mktemp("checkpoints")
    base = base_models.CACHE / base_models.LOCAL_MODEL
    subprocess.run(
        [str(TRAINING_PYTHON), "-c", MAKE_CHECKPOINTS, str(base), str(out), json.dumps(LABELS)],
        check=True,
        timeout=300,
    )
    s3, bucket = boto3.client("s3"), local_stack.resources.environment["RELAY_BUCKET_NAME"]
    uris = {}
    for name in ("classifier", "embedding", "adapter"):
        for path in (out / name).rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), bucket, f"tests/hosting/{name}/{path.relative_to(out / name)}")
        uris[name] = f"s3://{bucket}/tests/hosting/{name}/"
    uris["base"] = f"s3://{bucket}/{base_models.PREFIX}{base_models.LOCAL_MODEL}/"
    return uris


def model(sagemaker: Any, name: str, image: str, uri: str) -> None:
    source = {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}}
    sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataSource": source}
    )


@pytest.fixture(scope="module")
def engine(sagemaker: Any) -> Iterator[str]:
    """An inference-component endpoint; every component the tests put on it is gone afterwards."""
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName="hosting-models", ExecutionRoleArn=ROLE, ProductionVariants=[variant]
    )
    sagemaker.create_endpoint(EndpointName="hosting-models", EndpointConfigName="hosting-models")
    wait(lambda: sagemaker.describe_endpoint(EndpointName="hosting-models"), "EndpointStatus", "InService")
    yield "hosting-models"
    listed = sagemaker.list_inference_components(EndpointNameEquals="hosting-models")["InferenceComponents"]
    for item in sorted(listed, key=lambda c: "base" in c["InferenceComponentName"]):  # adapters first
        sagemaker.delete_inference_component(InferenceComponentName=item["InferenceComponentName"])
        while item["InferenceComponentName"] in names(sagemaker):
            time.sleep(0.2)
    sagemaker.delete_endpoint(EndpointName="hosting-models")


def names(sagemaker: Any) -> list[str]:
    listed = sagemaker.list_inference_components(EndpointNameEquals="hosting-models")["InferenceComponents"]
    return [c["InferenceComponentName"] for c in listed]


def component(sagemaker: Any, name: str, specification: dict[str, Any]) -> None:
    extra = {} if "BaseInferenceComponentName" in specification else {"RuntimeConfig": {"CopyCount": 1}}
    if "ModelName" in specification:
        specification = {**specification, "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}}
    sagemaker.create_inference_component(
        InferenceComponentName=name, EndpointName="hosting-models", Specification=specification, **extra
    )
    wait(
        lambda: sagemaker.describe_inference_component(InferenceComponentName=name),
        "InferenceComponentStatus",
        "InService",
    )


def invoke(name: str, body: dict[str, Any], endpoint: str = "hosting-models") -> Any:
    extra = {"InferenceComponentName": name} if name else {}
    reply = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="application/json", Body=json.dumps(body), **extra
    )
    return json.loads(reply["Body"].read())


def test_classifier_answers_the_training_labels_through_the_classification_route(
    sagemaker: Any, engine: str, checkpoints: dict[str, str], client: Any, auth: dict[str, str]
) -> None:
    model(sagemaker, "hosting-classifier", IMAGES["classifier"], checkpoints["classifier"])
    component(sagemaker, "hosting-classifier-ic", {"ModelName": "hosting-classifier"})
    ranked = invoke("hosting-classifier-ic", {"inputs": "great movie"})
    assert {r["label"] for r in ranked} == set(LABELS) and abs(sum(r["score"] for r in ranked) - 1) < 1e-4
    body = {"id": "hosted-classifier", "endpoint_name": engine, "flavour": "classifier"}
    body |= {"inference_component": "hosting-classifier-ic", "overwrite": True}
    assert client.post("/v1/admin/models", json=body, headers=auth).status_code == 201
    texts = ["great movie", "awful food"]
    answer = client.post(
        "/v1/classification", json={"model": "hosted-classifier", "input": texts}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    rows = [d["logits"] for d in answer.json()["data"]]
    assert [set(r) for r in rows] == [set(LABELS)] * 2 and rows[0] != rows[1]
    client.delete("/v1/admin/models/hosted-classifier/dev", headers=auth)
    with pytest.raises(ClientError) as refused:  # this engine's variant has no scale-to-zero
        sagemaker.update_inference_component_runtime_config(
            InferenceComponentName="hosting-classifier-ic", DesiredRuntimeConfig={"CopyCount": 0}
        )
    assert "MinInstanceCount 0" in refused.value.response["Error"]["Message"]


def test_classifier_without_a_labels_file_takes_relay_labels(
    sagemaker: Any, engine: str, checkpoints: dict[str, str], local_stack: Any
) -> None:
    s3, bucket = boto3.client("s3"), local_stack.resources.environment["RELAY_BUCKET_NAME"]
    source = checkpoints["classifier"].removeprefix(f"s3://{bucket}/")
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=source)["Contents"]:
        if not item["Key"].endswith("labels.json"):
            target = "tests/hosting/unlabelled/" + item["Key"][len(source) :]
            s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": item["Key"]})
    container = {
        "Image": IMAGES["classifier"],
        "Environment": {"RELAY_TASK_TYPE": "classification", "RELAY_LABELS": json.dumps(["bad", "good"])},
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": f"s3://{bucket}/tests/hosting/unlabelled/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
    }
    sagemaker.create_model(ModelName="hosting-unlabelled", ExecutionRoleArn=ROLE, PrimaryContainer=container)
    component(sagemaker, "hosting-unlabelled-ic", {"ModelName": "hosting-unlabelled"})
    assert {r["label"] for r in invoke("hosting-unlabelled-ic", {"inputs": "fine"})} == {"bad", "good"}


def test_embedding_model_answers_teis_shape(sagemaker: Any, engine: str, checkpoints: dict[str, str]) -> None:
    model(sagemaker, "hosting-embedding", IMAGES["embedding"], checkpoints["embedding"])
    component(sagemaker, "hosting-embedding-ic", {"ModelName": "hosting-embedding"})
    vectors = invoke("hosting-embedding-ic", {"inputs": ["red cat", "blue dog", "red cat"]})
    assert len(vectors) == 3 and len(vectors[0]) == 32  # tiny-local's hidden size
    assert all(abs(math.sqrt(sum(v * v for v in vector)) - 1) < 1e-4 for vector in vectors)
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    ids = invoke("hosting-embedding-ic", {"inputs": [[10, 11], [12]]})  # token ids, as TEI takes them
    assert len(ids) == 2 and ids[0] != ids[1]
    raw = invoke("hosting-embedding-ic", {"inputs": "red cat", "normalize": False})
    assert abs(math.sqrt(sum(v * v for v in raw[0])) - 1) > 1e-3


def test_lora_adapter_component_runs_on_its_base_and_matches_the_merged_model(
    sagemaker: Any, engine: str, checkpoints: dict[str, str]
) -> None:
    greedy = {"prompt": "the capital of france is", "max_tokens": 6, "temperature": 0}
    model(sagemaker, "hosting-base", IMAGES["chat"], checkpoints["base"])
    component(sagemaker, "hosting-base-ic", {"ModelName": "hosting-base"})
    component(
        sagemaker,
        "hosting-adapter-ic",
        {
            "BaseInferenceComponentName": "hosting-base-ic",
            "Container": {"ArtifactUrl": checkpoints["adapter"]},
        },
    )
    base_text = invoke("hosting-base-ic", greedy)["choices"][0]["text"]
    adapter_text = invoke("hosting-adapter-ic", greedy)["choices"][0]["text"]
    assert adapter_text != base_text
    assert invoke("hosting-base-ic", greedy)["choices"][0]["text"] == base_text  # the base is unchanged
    # The same adapter deployed as a model of its own: merged into tiny-local's weights at load.
    model(sagemaker, "hosting-adapter-merged", IMAGES["chat"], checkpoints["adapter"])
    component(sagemaker, "hosting-merged-ic", {"ModelName": "hosting-adapter-merged"})
    assert invoke("hosting-merged-ic", greedy)["choices"][0]["text"] == adapter_text
    with pytest.raises(ClientError) as refused:
        sagemaker.delete_inference_component(InferenceComponentName="hosting-base-ic")
    assert "base of adapter components" in refused.value.response["Error"]["Message"]


def test_wrong_container_for_the_checkpoint_fails_with_the_reason(
    sagemaker: Any, engine: str, checkpoints: dict[str, str]
) -> None:
    model(sagemaker, "hosting-mismatch", IMAGES["chat"], checkpoints["classifier"])
    sagemaker.create_inference_component(
        InferenceComponentName="hosting-mismatch-ic",
        EndpointName=engine,
        Specification={
            "ModelName": "hosting-mismatch",
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    describe = lambda: sagemaker.describe_inference_component(InferenceComponentName="hosting-mismatch-ic")  # noqa: E731
    deadline = time.monotonic() + 60
    while (failed := describe())["InferenceComponentStatus"] != "Failed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "classification model cannot be served" in failed["FailureReason"]
    assert failed["RuntimeConfig"]["CurrentCopyCount"] == 0


def test_single_model_endpoint_is_served_without_a_component_name(
    sagemaker: Any, checkpoints: dict[str, str]
) -> None:
    from local.emulators.serving import process

    model(sagemaker, "hosting-single", IMAGES["chat"], checkpoints["base"])
    variant = {"VariantName": "AllTraffic", "ModelName": "hosting-single", "InstanceType": "ml.m5.xlarge"}
    sagemaker.create_endpoint_config(
        EndpointConfigName="hosting-single", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    sagemaker.create_endpoint(EndpointName="hosting-single", EndpointConfigName="hosting-single")
    wait(lambda: sagemaker.describe_endpoint(EndpointName="hosting-single"), "EndpointStatus", "InService")
    answer = invoke(
        "", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}, endpoint="hosting-single"
    )
    assert answer["object"] == "chat.completion" and answer["usage"]["completion_tokens"] <= 3
    config = {**variant, "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(EndpointConfigName="hosting-single-2", ProductionVariants=[config])
    sagemaker.update_endpoint(EndpointName="hosting-single", EndpointConfigName="hosting-single-2")
    assert sagemaker.describe_endpoint(EndpointName="hosting-single")["EndpointStatus"] == "Updating"
    describe = lambda: sagemaker.describe_endpoint(EndpointName="hosting-single")  # noqa: E731
    assert wait(describe, "EndpointStatus", "InService")["EndpointConfigName"] == "hosting-single-2"
    completion = invoke("", {"prompt": "one", "max_tokens": 2}, endpoint="hosting-single")
    assert completion["object"] == "text_completion"
    sagemaker.delete_endpoint(EndpointName="hosting-single")
    deadline = time.monotonic() + 30
    while [p for p in process.live() if p.served_name == "hosting-single"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)


ORPHAN_PARENT = """
import sys, tempfile, time
from pathlib import Path
from local.emulators.serving.process import ServingProcess
served = ServingProcess("text-generation", Path(sys.argv[1]), None, "orphan", Path(tempfile.mkdtemp()))
served.start()
print(served.pid, flush=True)
time.sleep(120)
"""


def test_a_serving_process_exits_when_the_stack_is_killed(local_stack: Any) -> None:
    """No orphans even when the stack gets no chance to stop its containers (SIGKILL)."""
    import os
    import signal
    import sys

    from local import base_models

    model_dir = base_models.CACHE / base_models.LOCAL_MODEL
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_PARENT, str(model_dir)], cwd=str(REPO), stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while running(child):
        assert time.monotonic() < deadline, f"serving process {child} outlived its parent"
        time.sleep(0.2)


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
