"""Apply the documentation fixes proposed in FINDINGS.md to a served
/openapi.json, so they can be checked before any Rust changes:

    curl -s http://127.0.0.1:8080/openapi.json > /tmp/openapi.json
    target/schemathesis-venv/bin/python tests/schemathesis/patch_openapi.py \
        /tmp/openapi.json > /tmp/openapi.patched.json
    scripts/schemathesis --schema /tmp/openapi.patched.json

What a run against the patched document still reports is what documenting
the common statuses does not fix (real bugs, or statuses particular to one
route). The rules below are the ones FINDINGS.md gives per extractor; they
are a model of the fix, not a replacement for it: the Rust side should
derive the same responses from the extractors each handler uses.
"""

from __future__ import annotations

import copy
import json
import sys

PROBLEM = {
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
}

# The IntoParams structs that utoipa emits as required *path* parameters
# because they lack #[into_params(parameter_in = Query)].
QUERY_PARAMETERS = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/admin/users"),
    ("delete", "/api/v1/admin/users/{id}"),
}


def add(responses: dict, status: str, description: str) -> None:
    if status not in responses:
        responses[status] = {"description": description, **copy.deepcopy(PROBLEM)}


def patch(document: dict) -> dict:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            # Query parameters documented as path parameters.
            if (method, path) in QUERY_PARAMETERS:
                template = {p.strip("{}") for p in path.split("/") if p.startswith("{")}
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] not in template:
                        parameter["in"] = "query"
                        parameter["required"] = False
                add(responses, "400", "invalid_query: unknown or malformed query parameter")
            # Caller / AdminCaller: a missing, malformed or dead token.
            if operation.get("security"):
                add(responses, "401", "invalid_token: missing, malformed, expired or revoked token")
            # ApiJson<T> (and the refresh handler's own JSON decoding).
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                add(responses, "400", "malformed_json: the body is not JSON")
                add(responses, "413", "payload_too_large: the body exceeds max_body_bytes")
                add(responses, "415", "unsupported_media_type: Content-Type is not application/json")
                add(responses, "422", "invalid_body / validation_failed")
            # Path ids that may name nothing.
            if "{" in path and operation.get("security"):
                add(responses, "404", "not_found: no such resource")
    return document


def main() -> None:
    with open(sys.argv[1]) as handle:
        document = json.load(handle)
    json.dump(patch(document), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
