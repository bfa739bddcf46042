"""Writing a DataMap back to datamap.yaml text."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from troth.datamap.model import DataMap


def datamap_document(datamap: DataMap) -> dict[str, Any]:
    """The data map as plain YAML-ready data, leaving out every default."""
    body = datamap.model_dump(mode="json", exclude_defaults=True)
    body["stores"] = {  # the store type is the union's discriminator: always written
        name: {"type": store.type, **body["stores"][name]} for name, store in datamap.stores.items()
    }
    return {"troth": datamap.troth, **body}


def to_yaml(document: Any, header: str = "") -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    out = io.StringIO()
    yaml.dump(document, out)
    return header + out.getvalue()


def dump_datamap(datamap: DataMap, header: str = "") -> str:
    return to_yaml(datamap_document(datamap), header)
