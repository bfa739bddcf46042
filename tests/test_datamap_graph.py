"""How tables are reached from identities: paths, cycles, repeated subtrees."""

from __future__ import annotations

from troth.datamap import DataMap
from troth.datamap.graph import Node, identity_trees, reached_tables

MAP = DataMap.model_validate(
    {
        "stores": {"app": {"type": "sql", "url": "sqlite:///x.db"}},
        "identities": {"email": {"normalize": "email"}, "user_id": {"normalize": "integer"}},
        "tables": {
            "app.users": {"identities": {"email": "email", "user_id": "id"}},
            "app.teams": {"links": [{"column": "owner_id", "to": "users.id", "owner": True}]},
            "app.members": {
                "primary_key": ["team_id", "user_id"],
                "links": [
                    {"column": "team_id", "to": "app.teams.id", "owner": False},
                    {"column": "user_id", "to": "app.users.id", "owner": True},
                ],
            },
            "app.boss": {
                "links": [{"column": "member_id", "to": "app.members.user_id", "owner": True}]
            },
            "app.cycle_a": {
                "links": [
                    {"column": "user_id", "to": "app.users.id", "owner": True},
                    {"column": "b_id", "to": "app.cycle_b.id", "owner": True},
                ]
            },
            "app.cycle_b": {"links": [{"column": "a_id", "to": "app.cycle_a.id", "owner": True}]},
        },
    }
)


def shape(node: Node) -> list[object]:
    label = f"{node.table}.{node.column}" + (" (repeated)" if node.repeated else "")
    return [label, [shape(child) for child in node.children]]


def test_each_subtree_is_grown_once_per_identity() -> None:
    trees = identity_trees(MAP)
    assert [shape(root) for root in trees["email"]] == [
        [
            "app.users.email",
            [
                [
                    "app.teams.owner_id",
                    [["app.members.team_id", [["app.boss.member_id", []]]]],
                ],
                ["app.members.user_id (repeated)", []],
                [
                    "app.cycle_a.user_id",
                    [["app.cycle_b.a_id", [["app.cycle_a.b_id (repeated)", []]]]],
                ],
            ],
        ]
    ]
    assert not trees["email"][0].children[0].children[0].owner


def test_cycles_end_and_unreached_tables_are_left_out() -> None:
    lonely = MAP.model_copy(
        update={
            "tables": {
                **MAP.tables,
                "app.lonely": MAP.tables["app.boss"].model_copy(update={"links": []}),
            }
        }
    )
    assert reached_tables(lonely) == set(MAP.tables)
    link = MAP.tables["app.members"].links[0]
    assert link.target("app.members") == ("app.teams", "id")
    assert MAP.tables["app.teams"].links[0].target("app.teams") == ("app.users", "id")


def test_an_owned_row_hangs_below_its_owner_and_its_other_referrers_are_not_owned() -> None:
    homes = DataMap.model_validate(
        {
            "stores": {"app": {"type": "sql", "url": "sqlite:///x.db"}},
            "identities": {"email": {"normalize": "email"}},
            "tables": {
                "app.customers": {
                    "identities": {"email": "email"},
                    "links": [
                        {
                            "column": "address_id",
                            "to": "app.addresses.id",
                            "owner": False,
                            "owns": True,
                        }
                    ],
                },
                "app.addresses": {},
                "app.stores": {
                    "links": [{"column": "address_id", "to": "app.addresses.id", "owner": False}]
                },
            },
        }
    )
    (customers,) = identity_trees(homes)["email"]
    (address,) = customers.children
    assert (address.table, address.column, address.owned, address.owner) == (
        "app.addresses", "id", True, True
    )  # fmt: skip
    assert [(c.table, c.owner) for c in address.children] == [
        ("app.customers", False),
        ("app.stores", False),
    ]
    assert reached_tables(homes) >= {"app.customers", "app.addresses", "app.stores"}
