"""Fides dataset YAML: export, import, and the round trip datamap -> Fides -> datamap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from troth.datamap import DataMap, load_datamap
from troth.datamap.dump import to_yaml
from troth.datamap.fides import read_fides, to_fides
from troth.errors import InvalidInput, Problem
from troth.project import open_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refapp"


def comparable(datamap: DataMap) -> dict[str, Any]:
    """The data map as data, links in a stable order (Fides sorts fields by name)."""
    data = datamap.model_dump()
    for table in data["tables"].values():
        table["links"].sort(key=lambda link: (link["column"], link["to"]))
    return data


def test_reference_datamap_round_trips_through_fides(tmp_path: Path) -> None:
    original = load_datamap(open_project(EXAMPLE))
    path = tmp_path / "fides.yaml"
    path.write_text(to_yaml(to_fides(original)))
    imported = read_fides(path)
    assert imported.notes == []
    assert comparable(imported.datamap) == comparable(original)


def fields(manifest: dict[str, Any], collection: str) -> dict[str, dict[str, Any]]:
    found = next(c for c in manifest["dataset"][0]["collections"] if c["name"] == collection)
    return {f["name"]: f for f in found["fields"]}


def test_export_says_in_fides_terms_what_fides_can_say() -> None:
    manifest = to_fides(load_datamap(open_project(EXAMPLE)))
    users = fields(manifest, "users")
    assert users["email"] == {
        "name": "email",
        "data_categories": ["user.contact.email"],
        "fides_meta": {
            "identity": "email",
            "data_type": "string",
            "masking_strategy_override": {"strategy": "hmac"},
        },
    }
    assert users["id"]["fides_meta"] == {
        "identity": "user_id",
        "data_type": "integer",
        "primary_key": True,
    }
    assert users["status"]["fides_meta"]["masking_strategy_override"] == {
        "strategy": "string_rewrite",
        "configuration": {"rewrite_value": "deleted"},
    }
    assert fields(manifest, "devices")["user_id"]["fides_meta"] == {
        "references": [{"dataset": "app", "field": "users.id", "direction": "from"}]
    }
    devices = next(c for c in manifest["dataset"][0]["collections"] if c["name"] == "devices")
    assert devices["fides_meta"] == {"masking_strategy_override": {"strategy": "delete"}}
    extension = manifest["dataset"][0]["meta"]["troth"]
    links = extension["collections"]["comments"]["links"]
    assert {key: link["owner"] for key, link in links.items()} == {
        "author_id -> app.users.id": True,
        "story_id -> app.stories.id": False,
    }
    assert extension["collections"]["messages"]["erase"] == "keep"


PLAIN_FIDES = """dataset:
  - fides_key: shop
    name: Shop
    data_categories: [user]
    collections:
      - name: customer
        fields:
          - name: id
            data_categories: [user.unique_id]
            fides_meta: {primary_key: true, identity: customer_id, data_type: integer}
          - name: email
            data_categories: [user.contact.email]
            fides_meta:
              identity: email
              data_type: string
              masking_strategy_override: {strategy: hmac}
          - name: name
            data_categories: [user.name]
          - name: prefs
            fields:
              - name: theme
      - name: orders
        fides_meta: {after: [shop.customer]}
        fields:
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customer.id, direction: from}]
          - name: note
            fides_meta:
              masking_strategy_override: {strategy: random_string_rewrite}
"""


def test_plain_fides_dataset_imports_with_defaults_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "fides.yaml"
    path.write_text(PLAIN_FIDES)
    imported = read_fides(path)
    customer = imported.datamap.tables["shop.customer"]
    assert customer.identities == {"customer_id": "id", "email": "email"}
    assert customer.erase == "update"
    assert customer.columns["email"].erase == "hash"
    assert customer.columns["name"].erase == "null"
    assert imported.datamap.identities["customer_id"].normalize == "integer"
    assert imported.datamap.identities["email"].normalize == "email"
    orders = imported.datamap.tables["shop.orders"]
    assert [(ln.column, ln.to, ln.owner) for ln in orders.links] == [
        ("customer_id", "shop.customer.id", False)  # Fides does not say: never assumed
    ]
    assert imported.notes == [
        "dataset shop: data_categories is not kept by troth",
        "collection shop.customer.name: no masking override; troth sets it to null on erasure",
        "collection shop.customer.prefs: nested fields are not supported and were dropped",
        "collection shop.orders: fides_meta.after is not used by troth",
        "collection shop.orders.customer_id: ownership not stated; owner: false (set owner: "
        "true if its rows belong to the subject of the row it refers to)",
        "collection shop.orders.note: masking strategy 'random_string_rewrite' "
        "has no troth equivalent",
    ]


def refused(tmp_path: Path, text: str) -> list[Problem]:
    """The problems read_fides reports for a fides.yaml holding `text`."""
    path = tmp_path / "fides.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        read_fides(path)
    return caught.value.problems


def printed(tmp_path: Path, problems: list[Problem]) -> list[str]:
    return [str(p).removeprefix(str(tmp_path) + "/") for p in problems]


def test_invalid_fides_file_names_line_and_key(tmp_path: Path) -> None:
    problems = refused(
        tmp_path,
        "dataset:\n  - fides_key: shop\n    collections:\n      - name: customer\n"
        "        fields:\n          - data_categories: [user.name]\n",
    )
    assert printed(tmp_path, problems) == [
        "fides.yaml:6 dataset[0].collections[0].fields[0].name: required key is missing"
    ]


def test_fides_reference_to_a_missing_collection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fides.yaml"
    path.write_text(
        "dataset:\n  - fides_key: shop\n    collections:\n      - name: orders\n"
        "        fields:\n          - name: customer_id\n            fides_meta:\n"
        "              references: [{dataset: shop, field: customer.id, direction: from}]\n"
    )
    with pytest.raises(InvalidInput, match=r"table 'shop\.customer' is not in the data map"):
        read_fides(path)


def test_bad_troth_extension_and_unusable_names_are_refused(tmp_path: Path) -> None:
    problems = refused(
        tmp_path,
        "dataset:\n  - fides_key: shop\n    meta:\n      troth:\n        collections:\n"
        "          customer: {erase: maybe}\n    collections:\n      - name: customer\n"
        "        fields:\n          - name: id\n",
    )
    assert printed(tmp_path, problems) == [
        "fides.yaml:6 dataset[0].meta.troth.collections.customer.erase: "
        "'maybe' is not one of delete, update or keep"
    ]
    problems = refused(
        tmp_path,
        "dataset:\n  - fides_key: shop\n    collections:\n      - name: customer\n"
        "        fields:\n          - name: first.name\n",
    )
    assert printed(tmp_path, problems) == [
        "fides.yaml dataset[0].collections[0]: columns.first.name.[key]: a table or column "
        "name has 1 to 64 characters, no dot, quote, backslash or control character, and no "
        "space at either end"
    ]


def test_ownership_and_the_account_flag_round_trip_explicitly(tmp_path: Path) -> None:
    original = load_datamap(open_project(EXAMPLE))
    users = original.tables["app.users"].model_copy(update={"account": True})
    changed = original.model_copy(update={"tables": {**original.tables, "app.users": users}})
    manifest = to_fides(changed)
    extension = manifest["dataset"][0]["meta"]["troth"]["collections"]
    assert extension["users"]["account"] is True
    assert extension["order_items"]["links"] == {"order_id -> app.orders.id": {"owner": True}}
    path = tmp_path / "fides.yaml"
    path.write_text(to_yaml(manifest))
    assert comparable(read_fides(path).datamap) == comparable(changed)


def test_fides_keys_that_are_not_identifiers_are_refused(tmp_path: Path) -> None:
    problems = refused(
        tmp_path,
        "dataset:\n  - fides_key: my-shop\n    collections:\n      - name: customer\n"
        "        fields:\n          - name: id\n",
    )
    assert [p.path for p in problems] == [
        "stores.my-shop.[key]",
        "tables.my-shop.customer.[key]",
    ]


def test_owns_links_round_trip(tmp_path: Path) -> None:
    """The homes fixture's reviewed map: `owns: true` on the links that point at a
    customer's address and profile survives export and import."""
    homes = Path(__file__).resolve().parent / "appfixtures" / "homes.datamap.yaml"
    (tmp_path / "datamap.yaml").write_text(homes.read_text())
    (tmp_path / "troth.yaml").write_text((EXAMPLE / "troth.yaml").read_text())
    original = load_datamap(open_project(tmp_path))
    manifest = to_fides(original)
    links = manifest["dataset"][0]["meta"]["troth"]["collections"]["customers"]["links"]
    assert links["address_id -> app.addresses.address_id"] == {"owner": False, "owns": True}
    path = tmp_path / "fides.yaml"
    path.write_text(to_yaml(manifest))
    assert comparable(read_fides(path).datamap) == comparable(original)
