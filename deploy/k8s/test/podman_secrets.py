#!/usr/bin/env python3
"""Prepares rendered manifests for podman 4.3's `kube play`.

podman 4.3 stores a `kind: Secret` document as it is, then fails to read it back for
`secretKeyRef` ("secret NAME is not valid JSON"): it expects a podman secret holding a JSON
object of base64 values. So this reads the rendered YAML on standard input, writes each Secret as
DIR/NAME.json in that form (for `podman secret create NAME DIR/NAME.json`), and writes every
other document to standard output, for `podman kube play`.

    kubectl kustomize deploy/k8s/test | python podman_secrets.py DIR > play.yaml
"""

import base64
import json
import os
import sys

import yaml


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    others = []
    for doc in yaml.safe_load_all(sys.stdin):
        if not doc:
            continue
        if doc.get("kind") != "Secret":
            others.append(doc)
            continue
        values = dict(doc.get("data") or {})
        for key, text in (doc.get("stringData") or {}).items():
            values[key] = base64.b64encode(text.encode()).decode()
        name = doc["metadata"]["name"]
        with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(values, f)
        print(name, file=sys.stderr)
    yaml.safe_dump_all(others, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
