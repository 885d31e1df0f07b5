"""PyIceberg as a REST catalog client that writes: creates tables (plain and as a staged create transaction), appends,
overwrites with a filter (position/copy-on-write deletes), evolves the schema, renames and drops, through DuckHouse's
REST catalog server, then prints what it did as JSON.

Input (argv[1], JSON): {"uri", "token", "namespace", "s3": {...}}.
"""
import json
import sys

import pyarrow as pa
from pyiceberg.catalog import load_catalog
from pyiceberg.expressions import EqualTo
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType


def main():
    args = json.loads(sys.argv[1])
    catalog = load_catalog("duckhouse_rest", **{"type": "rest", "uri": args["uri"], "token": args["token"], **(args.get("s3") or {})})
    ns = tuple(args["namespace"].split("."))
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "name", StringType(), required=False),
        identifier_field_ids=[1],
    )
    arrow_schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
    out = {}

    # A plain create, two appends, a delete by filter, a new column.
    table = catalog.create_table(ns + ("written",), schema=schema)
    table.append(pa.Table.from_pylist([{"id": i, "name": f"n{i}"} for i in range(1, 6)], schema=arrow_schema))
    table.append(pa.Table.from_pylist([{"id": i, "name": f"n{i}"} for i in range(6, 9)], schema=arrow_schema))
    table.delete(EqualTo("id", 3))
    with table.update_schema() as update:
        update.add_column("note", StringType())
    table = catalog.load_table(ns + ("written",))
    out["written"] = {"snapshots": len(table.metadata.snapshots), "columns": [f.name for f in table.schema().fields]}

    # A staged create: the table exists only once the transaction commits (assert-create).
    txn = catalog.create_table_transaction(ns + ("staged",), schema=schema)
    txn.append(pa.Table.from_pylist([{"id": 1, "name": "staged"}], schema=arrow_schema))
    txn.commit_transaction()
    out["staged_rows"] = catalog.load_table(ns + ("staged",)).scan().to_arrow().num_rows

    # Rename, list, drop.
    catalog.rename_table(ns + ("staged",), ns + ("renamed",))
    out["tables_after_rename"] = sorted(".".join(t) for t in catalog.list_tables(ns))
    catalog.drop_table(ns + ("renamed",))
    out["tables_after_drop"] = sorted(".".join(t) for t in catalog.list_tables(ns))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
