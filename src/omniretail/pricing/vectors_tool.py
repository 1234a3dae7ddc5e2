"""Maintain the golden vectors in ./vectors (see the README).

    python -m omniretail.pricing.vectors_tool            # check every vector
    python -m omniretail.pricing.vectors_tool --write X  # fill X's "expected"

Each vector holds `input`, `hand` (figures worked out by hand: a dotted path
into the result -> its value) and `expected` (the engine's whole result).
`--write` refuses to record a result that contradicts the hand figures.
Pure Python: no Django, no database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omniretail.pricing.engine import price_cart
from omniretail.pricing.engine_types import PricingInput, from_dict, to_dict

VECTORS = Path(__file__).resolve().parent / "vectors"


def vector_paths() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


def vector_load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def vector_run(vector: dict[str, Any]) -> dict[str, Any]:
    """The engine's result for the vector's input, as plain JSON values."""
    result: dict[str, Any] = json.loads(
        json.dumps(to_dict(price_cart(from_dict(PricingInput, vector["input"]))))
    )
    return result


def path_get(data: Any, path: str) -> Any:
    """`lines[0].discounts[1].amount` -> the value at that place."""
    current = data
    for part in path.replace("]", "").replace("[", ".").split("."):
        current = current[int(part)] if isinstance(current, list) else current[part]
    return current


def hand_mismatches(vector: dict[str, Any], result: dict[str, Any]) -> list[str]:
    problems = []
    for path, wanted in vector.get("hand", {}).items():
        try:
            got = path_get(result, path)
        except (KeyError, IndexError) as exc:
            problems.append(f"{path}: missing ({exc!r})")
            continue
        if got != wanted:
            problems.append(f"{path}: hand says {wanted!r}, engine gives {got!r}")
    return problems


def main(argv: list[str]) -> int:
    write = "--write" in argv
    names = [a for a in argv if not a.startswith("--")]
    failed = 0
    for path in vector_paths():
        if names and path.stem not in names:
            continue
        vector = vector_load(path)
        result = vector_run(vector)
        problems = hand_mismatches(vector, result)
        if write and not problems:
            vector["expected"] = result
            path.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")
        elif result != vector.get("expected"):
            problems.append("the whole result differs from `expected`")
        for problem in problems:
            print(f"{path.name}: {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
