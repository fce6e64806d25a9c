"""Checks a JSON document (stdin) against KServe's own Python SDK models of its custom resources.

Every field must be one the SDK's model of that object declares (under its JSON name), each value
of the declared type (the Kubernetes client's models for the core objects inside), and each
object must construct with the SDK's client-side validation (required fields, enums). Prints a
JSON list of problems, each with its path; empty when the document is valid.
"""
import json
import os
import re
import sys
import sysconfig
import types

# The SDKs' models without their packages' __init__, which import KServe's model server and the
# Kubernetes client's config loaders with their dependencies (FastAPI, gRPC, OAuth, ...): only
# the generated models are needed.
for _name in ("kserve", "kubernetes", "kubernetes.client"):
    _package = types.ModuleType(_name)
    _package.__path__ = [os.path.join(sysconfig.get_paths()["purelib"], *_name.split("."))]
    sys.modules[_name] = _package

import kserve.models as kserve_models  # noqa: E402
import kubernetes.client.models as k8s_models  # noqa: E402
from kserve.configuration import Configuration  # noqa: E402

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object, "datetime": str, "date": str}


def model_class(name):
    return getattr(kserve_models, name, None) or getattr(k8s_models, name, None)


def check(value, type_name, path, problems):
    if value is None:
        return None
    if not isinstance(value, dict) and not isinstance(value, list) and type_name not in PRIMITIVES and not type_name.startswith(("list[", "dict(")):
        problems.append(f"{path}: expected an object ({type_name}), got {json.dumps(value)[:60]}")
        return INVALID
    match = re.fullmatch(r"list\[(.+)\]", type_name)
    if match:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list of {match.group(1)}, got {type(value).__name__}")
            return INVALID
        return [check(item, match.group(1), f"{path}[{i}]", problems) for i, item in enumerate(value)]
    match = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if match:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map of {match.group(1)}, got {type(value).__name__}")
            return INVALID
        return {k: check(v, match.group(1), f"{path}.{k}", problems) for k, v in value.items()}
    if type_name in PRIMITIVES:
        wanted = PRIMITIVES[type_name]
        if type_name in ("int", "float") and isinstance(value, bool) or not isinstance(value, wanted):
            problems.append(f"{path}: expected {type_name}, got {json.dumps(value)[:60]}")
        return value
    cls = model_class(type_name)
    if cls is None:
        problems.append(f"{path}: the SDK has no model {type_name}")
        return INVALID
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({type_name}), got {type(value).__name__}")
        return None
    by_json_name = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    kwargs = {}
    for key, item in value.items():
        attr = by_json_name.get(key)
        if attr is None:
            problems.append(f"{path}.{key}: {type_name} has no field {key!r}")
            continue
        kwargs[attr] = check(item, cls.openapi_types[attr], f"{path}.{key}", problems)
    try:
        configuration = Configuration() if cls.__module__.startswith("kserve") else k8s_models.V1ObjectMeta().local_vars_configuration
        configuration.client_side_validation = True
        return cls(**kwargs, local_vars_configuration=configuration)
    except (ValueError, TypeError) as error:
        problems.append(f"{path}: {type_name}: {error}")
        return INVALID


# What a nested object that failed stands as, so its parent reports only its own problems.
INVALID = object()


def main():
    document = json.load(sys.stdin)
    problems = []
    kind = document.get("kind")
    if document.get("apiVersion") != "serving.kserve.io/v1beta1" or kind != "InferenceService":
        problems.append(f"$: expected apiVersion serving.kserve.io/v1beta1, kind InferenceService; got {document.get('apiVersion')} {kind}")
    check(document, "V1beta1InferenceService", "$", problems)
    print(json.dumps(problems))


main()
