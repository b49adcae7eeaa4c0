"""docs/CONTRACT.md is what the schemas say: regenerate it with `make contract` after a change."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_contract_document_matches_the_schemas():
    spec = importlib.util.spec_from_file_location("gen_contract", ROOT / "scripts" / "gen_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "CONTRACT.md").read_text(encoding="utf-8") == module.render(), (
        "docs/CONTRACT.md is stale: run `make contract`"
    )
