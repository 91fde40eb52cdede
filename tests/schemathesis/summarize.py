"""Summarise the failures of a scripts/schemathesis run from its NDJSON report.

    target/schemathesis-venv/bin/python tests/schemathesis/summarize.py \
        target/schemathesis-report/ndjson-*.ndjson [--examples]

Schemathesis prints one failure per operation and kind; this lists every
distinct (operation, check, status, problem code, what was generated) with
how many test cases hit it, which is what tests/schemathesis/FINDINGS.md is
written from. Only the standard library is used.
"""

from __future__ import annotations

import base64
import json
import sys
from collections import defaultdict


def decode(content: dict | None) -> str:
    if not content:
        return ""
    if "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    return content.get("string", "")


def problem_code(body: str) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return "-"
    if isinstance(value, dict):
        return str(value.get("code") or value.get("error") or "-")
    return "-"


def scenario(case: dict) -> str:
    meta = case.get("meta") or {}
    phase = meta.get("phase") or {}
    data = phase.get("data") or {}
    generation = (meta.get("generation") or {}).get("mode", "?")
    what = data.get("description") or data.get("scenario") or ""
    what = " ".join(str(what).split())  # generated values may hold newlines
    return f"{phase.get('name', '?')}/{generation}: {what}".strip()


def main() -> None:
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    show_examples = "--examples" in sys.argv
    groups: dict[tuple, dict] = defaultdict(lambda: {"cases": 0, "scenarios": set(), "example": None})
    for path in paths:
        with open(path) as handle:
            for line in handle:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished["recorder"]
                for case_id, checks in recorder.get("checks", {}).items():
                    for check in checks:
                        if check.get("status") != "failure":
                            continue
                        failure = check["failure_info"]["failure"]
                        interaction = recorder["interactions"].get(case_id) or {}
                        response = interaction.get("response") or {}
                        status = response.get("status_code", "-")
                        body = decode(response.get("content"))
                        case = recorder["cases"][case_id]["value"]
                        key = (
                            failure.get("operation") or recorder["label"],
                            check["name"],
                            failure.get("title", ""),
                            status,
                            problem_code(body),
                        )
                        group = groups[key]
                        group["cases"] += 1
                        group["scenarios"].add(scenario(case))
                        if group["example"] is None:
                            group["example"] = {
                                "request": interaction.get("request"),
                                "request_body": decode((interaction.get("request") or {}).get("body")),
                                "response_body": body[:400],
                                "message": failure.get("message", ""),
                            }
    for key in sorted(groups, key=lambda k: (str(k[3]), k[1], k[4], k[0])):
        operation, check, title, status, code = key
        group = groups[key]
        print(f"{status}\t{code}\t{check}\t{operation}\t{group['cases']} case(s)")
        for item in sorted(group["scenarios"])[:6]:
            print(f"\t\t{item}")
        if show_examples:
            example = group["example"]
            request = example["request"] or {}
            print(f"\t\t> {request.get('method')} {request.get('uri')} {request.get('headers')}")
            if example["request_body"]:
                print(f"\t\t> body: {example['request_body'][:300]!r}")
            print(f"\t\t< {example['response_body']!r}")
            print(f"\t\t! {example['message']!r}"[:600])
    print(f"{len(groups)} distinct failures, {sum(g['cases'] for g in groups.values())} failing test cases")


if __name__ == "__main__":
    main()
