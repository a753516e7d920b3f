#!/usr/bin/python3 -I
# SPDX-License-Identifier: Apache-2.0
"""Validate an OCI runtime config.json against the runtime-spec JSON schema.

Usage: validate-oci-config SCHEMA_DIR/config-schema.json config.json

Offline stand-in for the body of runc's "spec validator" bats test, which
git-clones runtime-spec and builds its Go validator. The schema here comes
from Debian's golang-github-opencontainers-specs-dev package and is checked
with python3-jsonschema. Prints every violation with its JSON path.
"""
import json
import pathlib
import sys

import jsonschema


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: validate-oci-config SCHEMA config.json")
    schema_path = pathlib.Path(sys.argv[1]).resolve()
    schema = json.loads(schema_path.read_text())
    document = json.loads(pathlib.Path(sys.argv[2]).read_text())
    # The schema refers to its siblings (defs.json, config-linux.json, ...).
    resolver = jsonschema.RefResolver(base_uri=schema_path.as_uri(), referrer=schema)
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(
        validator_class(schema, resolver=resolver).iter_errors(document),
        key=lambda e: list(e.absolute_path),
    )
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print("%s: %s: %s" % (sys.argv[2], where, error.message))
    if errors:
        sys.exit(1)
    print("The document is valid")


if __name__ == "__main__":
    main()
