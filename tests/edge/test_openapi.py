"""The committed OpenAPI document is the edge's own."""

from __future__ import annotations

import json

from config import ROOT
from edge.web.app import openapi_document

COMMITTED = ROOT / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_edge() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(), (
        "run `python -m starter openapi` and commit docs/openapi.json"
    )


def test_every_operation_documents_its_refusals_in_the_edges_shape() -> None:
    document = json.loads(openapi_document())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            refusals = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            takes_input = operation.get("parameters") or operation.get("requestBody")
            assert "422" in refusals or not takes_input, (method, path)
            for code in refusals:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
