#!/usr/bin/env python3
"""Checks the KEDA objects (keda.sh/v1alpha1) in Kubernetes YAML strictly.

kubernetes-validate knows only Kubernetes' own kinds, so KEDA's ScaledObject and
TriggerAuthentication are checked here: against the JSON schema of the pydantic models that
cloudcoil-models-keda generates from KEDA's CRDs, made strict (an object with declared
properties takes no other, as a Kubernetes API server with KEDA's structural schema prunes or,
with `kubectl --validate=strict`, rejects them), plus what the CRD leaves as free-form strings for
the `rabbitmq` scaler: its metadata and TriggerAuthentication parameter names and its `mode`.

    python validate_keda.py FILE...        (or - for standard input, e.g. kubectl kustomize output)

Exits 1, naming each fault's object and path, when anything is wrong or no KEDA object is found.
"""

import copy
import sys

import jsonschema
import yaml
from cloudcoil.models.keda import v1alpha1

KINDS = {
    "ScaledObject": v1alpha1.ScaledObject,
    "ScaledJob": v1alpha1.ScaledJob,
    "TriggerAuthentication": v1alpha1.TriggerAuthentication,
    "ClusterTriggerAuthentication": v1alpha1.ClusterTriggerAuthentication,
}

# KEDA's rabbitmq scaler (https://keda.sh/docs/latest/scalers/rabbitmq-queue/).
RABBITMQ_METADATA = {
    "host", "hostFromEnv", "usernameFromEnv", "passwordFromEnv", "protocol", "mode", "value",
    "activationValue", "queueName", "vhostName", "useRegex", "excludeUnacknowledged",
    "pageSize", "operation", "timeout", "unsafeSsl",
}
RABBITMQ_AUTH_PARAMETERS = {
    "host", "username", "password", "tls", "ca", "cert", "key", "keyPassword", "unsafeSsl",
    "workloadIdentityResource",
}
RABBITMQ_MODES = {"QueueLength", "MessageRate"}


def strict(schema):
    """The schema where every object with declared properties refuses undeclared ones."""
    schema = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def validators():
    out = {}
    for kind, model in KINDS.items():
        out[kind] = jsonschema.Draft202012Validator(strict(model.model_json_schema(by_alias=True)))
    return out


def rabbitmq_faults(doc):
    spec = doc.get("spec") or {}
    if doc["kind"] in ("ScaledObject", "ScaledJob"):
        for i, trigger in enumerate(spec.get("triggers") or []):
            if trigger.get("type") != "rabbitmq":
                continue
            metadata = trigger.get("metadata") or {}
            where = f"/spec/triggers/{i}/metadata"
            for key in sorted(set(metadata) - RABBITMQ_METADATA):
                yield f"{where}: `{key}` is not a parameter of the rabbitmq scaler"
            if metadata.get("mode") not in RABBITMQ_MODES:
                yield f"{where}/mode: {metadata.get('mode')!r} is not one of {sorted(RABBITMQ_MODES)}"
            if "queueName" not in metadata:
                yield f"{where}: `queueName` is missing"
            if "value" not in metadata:
                yield f"{where}: `value` is missing"
    else:
        for i, ref in enumerate(spec.get("secretTargetRef") or []):
            if ref.get("parameter") not in RABBITMQ_AUTH_PARAMETERS:
                yield (
                    f"/spec/secretTargetRef/{i}/parameter: {ref.get('parameter')!r} is not a "
                    "parameter of the rabbitmq scaler's authentication"
                )


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    checks = validators()
    checked = 0
    faults = []
    for path in paths:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict) or not str(doc.get("apiVersion", "")).startswith("keda.sh/"):
                continue
            name = f"{path}: {doc.get('kind')} {(doc.get('metadata') or {}).get('name')}"
            checked += 1
            check = checks.get(doc.get("kind"))
            if doc.get("apiVersion") != "keda.sh/v1alpha1" or check is None:
                faults.append(f"{name}: unknown KEDA kind {doc.get('apiVersion')}/{doc.get('kind')}")
                continue
            for error in sorted(check.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                where = "/" + "/".join(str(p) for p in error.absolute_path)
                faults.append(f"{name}: {where}: {error.message}")
            faults.extend(f"{name}: {fault}" for fault in rabbitmq_faults(doc))
    for fault in faults:
        print(fault, file=sys.stderr)
    if checked == 0:
        print("no KEDA object (apiVersion keda.sh/...) found", file=sys.stderr)
        return 1
    print(f"{checked} KEDA object(s) checked, {len(faults)} fault(s)")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
