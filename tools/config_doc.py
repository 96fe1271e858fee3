"""Print the key-by-key tables of docs/config.md from the schema (descriptions, defaults).

Usage: python tools/config_doc.py > /tmp/tables.md   (then paste into docs/config.md, under
"## Every key"; tests/unit/config checks that every key's row shows its bounds)
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from xsmom.config.keys import bounds_text
from xsmom.config.schema import Config


def walk(model: type[BaseModel], prefix: str) -> None:
    rows = []
    subs = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            subs.append((ann, f"{prefix}{name}."))
            continue
        default = field.get_default(call_default_factory=True)
        bounds = bounds_text(field) or "-"
        rows.append(
            f"| `{prefix}{name}` | `{json.dumps(default, default=list)}` | {bounds} | "
            f"{field.description} |"
        )
    if rows:
        print(f"\n### `{prefix.rstrip('.') or '(top level)'}`\n")
        print((model.__doc__ or "").strip().splitlines()[0] + "\n")
        print("| key | default | bounds | meaning |\n|---|---|---|---|")
        print("\n".join(rows))
    for sub, p in subs:
        walk(sub, p)


if __name__ == "__main__":
    walk(Config, "")
