#!/usr/bin/env python3
"""Generates src/api/operations/table.rs, the SP-API operations table, from Amazon's models.

Usage (from the project root):

    python3 scripts/gen-operations.py ../shared/sp-api-models > src/api/operations/table.rs
    python3 scripts/gen-operations.py ../shared/sp-api-models --check src/api/operations/table.rs

The argument is a checkout of amzn/selling-partner-api-models (Swagger 2.0 models under
models/*/*.json). Every operation becomes one line: its API (the model file's name), version,
operationId, method, path template, query parameters, where the answer's next-page token sits
and which query parameter takes it back, its usage plan (rate and burst, from the description's
"Rate (requests per second) | Burst" table), and whether it is restricted
(scripts/operations-restricted.tsv) or grantless (scripts/operations-grantless.tsv).

Only facts (names, paths, numbers) are written; no description text is copied. The output is
deterministic: sorted by API, then method, then path.

Exit status: 0 done (or, with --check, the file is up to date); 1 with --check, the file differs;
2 the models or the lists are not as expected (one line on stderr), e.g. a line of either list
that matches no operation in the models.

Standard library only (Python 3.11).
"""

import glob
import json
import os
import re
import sys

REGENERATE = "python3 scripts/gen-operations.py ../shared/sp-api-models > src/api/operations/table.rs"
HERE = os.path.dirname(os.path.abspath(__file__))
RESTRICTED_TSV = os.path.join(HERE, "operations-restricted.tsv")
GRANTLESS_TSV = os.path.join(HERE, "operations-grantless.tsv")

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
RESTRICTIONS = ("Always", "WithDataElements", "AfterDenial")
DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")

# Names of next-page tokens, in answers and in query parameters: nextToken, NextToken,
# nextPageToken, nextTokenForLineItems, pageToken, paginationToken. Not previousToken,
# previousPageToken (the way back), requestToken (Shipping v2 rates), restrictedDataToken.
PAGE_TOKEN = re.compile(r"^(?:next\w*token\w*|page_?token|pagination_?token)$", re.IGNORECASE)
# A token parameter whose description says the token must be sent alone (Reports getReports,
# Feeds getFeeds); elsewhere the first request's arguments are repeated.
ALONE = re.compile(
    r"as the only parameter|with any other parameters? (?:will )?cause[sd]? the request to fail",
    re.IGNORECASE,
)
# How deep objects are searched for a token: /payload/pagination/nextToken is depth 3.
MAX_DEPTH = 4


class Failure(Exception):
    """The models or the lists are not as expected: exit 2 with one line."""


def main(argv):
    models, check = None, None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--check":
            if not args:
                raise Failure("--check needs a FILE")
            check = args.pop(0)
        elif arg.startswith("--check="):
            check = arg[len("--check="):]
        elif arg in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif arg.startswith("-"):
            raise Failure(f"unknown option {arg!r}; usage: {REGENERATE}")
        elif models is None:
            models = arg
        else:
            raise Failure(f"one models checkout only; usage: {REGENERATE}")
    if models is None:
        raise Failure(f"no models checkout given; usage: {REGENERATE}")

    text = generate(models)
    if check is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(check, encoding="utf-8", newline="") as file:
            current = file.read()
    except OSError:
        current = None
    if current == text:
        return 0
    what = "is missing" if current is None else "is out of date"
    print(f"{check} {what}: regenerate it with {REGENERATE}", file=sys.stderr)
    return 1


def generate(root):
    files = sorted(glob.glob(os.path.join(root, "models", "*", "*.json")))
    if not files:
        raise Failure(f"no models under {os.path.join(root, 'models')}/*/*.json")

    operations, seen_apis = [], {}
    for path in files:
        api = api_name(os.path.splitext(os.path.basename(path))[0])
        if api in seen_apis:
            raise Failure(f"two models are both API {api!r}: {seen_apis[api]} and {path}")
        seen_apis[api] = path
        operations.extend(model_operations(path, api))

    by_route = {}
    for op in operations:
        route = (op["method"], op["path"])
        if route in by_route:
            raise Failure(f"{route[0]} {route[1]} is in two models")
        by_route[route] = op

    for line, method, path, restriction, elements in read_restricted(RESTRICTED_TSV):
        op = matching(by_route, RESTRICTED_TSV, line, method, path)
        op["restriction"], op["data_elements"] = restriction, elements
    for line, method, path, scope in read_grantless(GRANTLESS_TSV):
        op = matching(by_route, GRANTLESS_TSV, line, method, path)
        op["grantless"] = scope

    operations.sort(key=lambda op: (op["api"], op["method"], op["path"]))
    out = [
        "// @generated by scripts/gen-operations.py from amzn/selling-partner-api-models",
        f"// (commit {snapshot_commit(root)}).",
        f"// Regenerate: {REGENERATE}",
        "// Facts only (names, paths, numbers); Amazon's descriptions are not copied.",
        "",
        "use super::{NextPage, Operation, Query, Restriction, UsagePlan};",
        "",
        "pub(super) static OPERATIONS: &[Operation] = &[",
    ]
    out.extend("    " + rust_operation(op) + "," for op in operations)
    out.append("];")
    return "\n".join(out) + "\n"


def api_name(stem):
    """The model file's stem, a `-` before a version date made `_`."""
    return re.sub(r"-(\d{4}-\d{2}-\d{2})$", r"_\1", stem)


def snapshot_commit(root):
    try:
        with open(os.path.join(root, "SNAPSHOT.md"), encoding="utf-8") as file:
            found = re.search(r"\bcommit\s+([0-9a-f]{40})\b", file.read())
    except OSError:
        return "unknown"
    return found.group(1) if found else "unknown"


def model_operations(path, api):
    name = os.path.relpath(path)
    try:
        with open(path, encoding="utf-8") as file:
            model = json.load(file)
    except (OSError, ValueError) as error:
        raise Failure(f"{name}: not readable JSON ({error})") from None
    if model.get("swagger") != "2.0":
        raise Failure(f"{name}: not a Swagger 2.0 model")
    version = model.get("info", {}).get("version")
    if not isinstance(version, str) or not version:
        raise Failure(f"{name}: no info.version")

    operations = []
    for template, item in model.get("paths", {}).items():
        shared = [resolve(model, p, name) for p in item.get("parameters", [])]
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            where = f"{name}: {method.upper()} {template}"
            op_id = op.get("operationId")
            if not isinstance(op_id, str) or not op_id:
                raise Failure(f"{where}: no operationId")
            parameters = merge_parameters(shared, [resolve(model, p, name) for p in op.get("parameters", [])])
            query = [p for p in parameters if p.get("in") == "query"]
            for p in query:
                if not isinstance(p.get("name"), str) or not p["name"]:
                    raise Failure(f"{where}: a query parameter has no name")
            operations.append({
                "api": api,
                "version": version,
                "id": op_id,
                "method": method.upper(),
                "path": template,
                "query": [(p["name"], p.get("required") is True, p.get("type") == "array") for p in query],
                "next_page": next_page(model, op, query, where),
                "usage_plan": usage_plan(op.get("description", ""), where),
                "restriction": "None",
                "data_elements": [],
                "grantless": None,
            })
    return operations


def resolve(model, node, name, seen=()):
    """`node` with its local `$ref`s (`#/parameters/...`, `#/definitions/...`) followed."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise Failure(f"{name}: $ref {ref!r} is not local")
        if ref in seen:
            raise Failure(f"{name}: $ref {ref!r} refers to itself")
        seen = seen + (ref,)
        node = model
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise Failure(f"{name}: $ref {ref!r} leads nowhere")
            node = node[part]
    return node


def merge_parameters(shared, own):
    """Path-item parameters, each replaced by the operation's of the same name and place;
    then the operation's own (Swagger 2.0), in model order."""
    key = lambda p: (p.get("name"), p.get("in"))
    own_keys = {key(p): p for p in own}
    merged = [own_keys.pop(key(p), p) for p in shared]
    merged.extend(p for p in own if key(p) in own_keys)
    return merged


def success_schema(op):
    responses = op.get("responses", {})
    codes = sorted(c for c in responses if str(c).startswith("2"))
    codes.sort(key=lambda c: c != "200")
    for code in codes:
        if isinstance(responses[code], dict) and "schema" in responses[code]:
            return responses[code]["schema"]
    return None


def answer_tokens(model, schema, where):
    """JSON pointers and names of the string properties named like page tokens, at the top
    level of the answer or nested in objects (not in arrays)."""
    found = []

    def walk(node, pointer, depth, seen):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            if node["$ref"] in seen:
                return
            seen = seen | {node["$ref"]}
        node = resolve(model, node, where)
        if not isinstance(node, dict):
            return
        for part in node.get("allOf", []):
            walk(part, pointer, depth, seen)
        for prop, sub in node.get("properties", {}).items():
            resolved = resolve(model, sub, where)
            here = pointer + "/" + prop.replace("~", "~0").replace("/", "~1")
            if PAGE_TOKEN.match(prop) and isinstance(resolved, dict) and resolved.get("type") == "string":
                found.append((here, prop))
            elif depth < MAX_DEPTH and isinstance(resolved, dict) and resolved.get("type") in (None, "object"):
                walk(sub, here, depth + 1, seen)

    if schema is not None:
        walk(schema, "", 1, frozenset())
    return found


def next_page(model, op, query, where):
    tokens = answer_tokens(model, success_schema(op), where)
    if not tokens:
        return ("None",)
    token_parameters = [p for p in query if PAGE_TOKEN.match(p["name"])]
    by_name = {p["name"]: p for p in token_parameters}

    same_name = [(pointer, by_name[prop]) for pointer, prop in tokens if prop in by_name]
    if len(same_name) == 1:
        pointer, parameter = same_name[0]
    elif len(same_name) > 1:
        raise Failure(f"{where}: several answer tokens match query parameters: {[t[0] for t in same_name]}")
    elif len(tokens) > 1:
        raise Failure(f"{where}: several answer tokens ({[t[0] for t in tokens]}) and none named as a query parameter")
    elif len(token_parameters) == 1:
        pointer, parameter = tokens[0][0], token_parameters[0]
    elif not token_parameters:
        return ("Unsendable", tokens[0][0])
    else:
        raise Failure(f"{where}: answer token {tokens[0][0]} but several token parameters {sorted(by_name)}")
    alone = bool(ALONE.search(parameter.get("description", "")))
    return ("Query", pointer, parameter["name"], alone)


def usage_plan(description, where):
    """(rate, burst) from the description's usage plan table, as the model writes them; None
    when there is no table or its first row states no numbers (e.g. `| n | n |`)."""
    # One model escapes its newlines twice (a literal backslash-n in the text).
    lines = description.replace("\\n", "\n").splitlines()
    plans = []
    for i, line in enumerate(lines):
        cells = table_cells(line)
        if cells is None or not any(re.fullmatch(r"rate \(requests per second\)", c, re.I) for c in cells):
            continue
        rate_at = next(j for j, c in enumerate(cells) if re.fullmatch(r"rate \(requests per second\)", c, re.I))
        burst_at = next((j for j, c in enumerate(cells) if re.fullmatch(r"burst", c, re.I)), None)
        if burst_at is None:
            raise Failure(f"{where}: usage plan table has no Burst column")
        separator = table_cells(lines[i + 1]) if i + 1 < len(lines) else None
        if separator is None or not all(re.fullmatch(r":?-+:?", c) for c in separator):
            raise Failure(f"{where}: usage plan table has no | ---- | row")
        row = table_cells(lines[i + 2]) if i + 2 < len(lines) else None
        if row is None or len(row) <= max(rate_at, burst_at):
            raise Failure(f"{where}: usage plan table has no row")
        rate, burst = row[rate_at], row[burst_at]
        if re.fullmatch(r"\d*\.?\d+", rate) and re.fullmatch(r"\d+", burst):
            plans.append((rust_f64(rate), str(int(burst))))
        elif re.fullmatch(r"[A-Za-z]+", rate) and re.fullmatch(r"[A-Za-z]+", burst):
            plans.append(None)  # placeholders such as `n`, `Variable`: no usage plan stated
        else:
            raise Failure(f"{where}: usage plan row {rate!r} | {burst!r} is not numbers")
    if len(plans) > 1:
        raise Failure(f"{where}: {len(plans)} usage plan tables")
    return plans[0] if plans else None


def table_cells(line):
    """The cells of a Markdown table row, stripped of spaces and bold; None if no row."""
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|") and len(line) > 1):
        return None
    return [re.sub(r"^[*_]+|[*_]+$", "", c.strip()).strip() for c in line[1:-1].split("|")]


def rust_f64(number):
    """The model's number as a Rust f64 literal, digits unchanged: `5` -> `5.0`, `.5` -> `0.5`."""
    if number.startswith("."):
        number = "0" + number
    return number if "." in number else number + ".0"


def read_tsv(path, columns):
    name = os.path.relpath(path)
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError as error:
        raise Failure(f"{name}: not readable ({error.strerror})") from None
    seen = set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != columns or any(f != f.strip() or not f for f in fields):
            raise Failure(f"{name}:{number}: not {columns} tab-separated fields")
        method, path_template = fields[0], fields[1]
        if method.lower() not in METHODS or method != method.upper():
            raise Failure(f"{name}:{number}: {method!r} is not an upper-case HTTP method")
        if not path_template.startswith("/"):
            raise Failure(f"{name}:{number}: {path_template!r} is not a path template")
        if (method, path_template) in seen:
            raise Failure(f"{name}:{number}: {method} {path_template} is listed twice")
        seen.add((method, path_template))
        yield f"{name}:{number}", fields


def read_restricted(path):
    for line, (method, template, restriction, elements) in read_tsv(path, 4):
        if restriction not in RESTRICTIONS:
            raise Failure(f"{line}: restriction {restriction!r} is not one of {', '.join(RESTRICTIONS)}")
        elements = [] if elements == "-" else elements.split(",")
        unknown = [e for e in elements if e not in DATA_ELEMENTS]
        if unknown:
            raise Failure(f"{line}: {unknown[0]!r} is not a data element ({', '.join(DATA_ELEMENTS)})")
        if (restriction == "WithDataElements") != bool(elements):
            raise Failure(f"{line}: data elements go with WithDataElements, and only with it")
        yield line, method, template, restriction, elements


def read_grantless(path):
    for line, (method, template, scope) in read_tsv(path, 3):
        if not re.fullmatch(r"sellingpartnerapi::[a-z_:]+", scope):
            raise Failure(f"{line}: {scope!r} is not an LWA scope like sellingpartnerapi::notifications")
        yield line, method, template, scope


def matching(by_route, tsv, line, method, path):
    op = by_route.get((method, path))
    if op is None:
        raise Failure(f"{line}: {method} {path} matches no operation in the models; fix or drop the line")
    return op


def rust_str(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_operation(op):
    query = ", ".join(
        f"Query {{ name: {rust_str(name)}, required: {str(required).lower()}, array: {str(array).lower()} }}"
        for name, required, array in op["query"]
    )
    page = op["next_page"]
    if page[0] == "Query":
        next_page_text = (
            f"NextPage::Query {{ answer_at: {rust_str(page[1])}, parameter: {rust_str(page[2])}, "
            f"alone: {str(page[3]).lower()} }}"
        )
    elif page[0] == "Unsendable":
        next_page_text = f"NextPage::Unsendable {{ answer_at: {rust_str(page[1])} }}"
    else:
        next_page_text = "NextPage::None"
    plan = op["usage_plan"]
    plan_text = f"Some(UsagePlan {{ rate: {plan[0]}, burst: {plan[1]} }})" if plan else "None"
    elements = ", ".join(rust_str(e) for e in op["data_elements"])
    grantless = f"Some({rust_str(op['grantless'])})" if op["grantless"] else "None"
    return (
        f"Operation {{ api: {rust_str(op['api'])}, version: {rust_str(op['version'])}, id: {rust_str(op['id'])}, "
        f"method: {rust_str(op['method'])}, path: {rust_str(op['path'])}, query: &[{query}], "
        f"next_page: {next_page_text}, usage_plan: {plan_text}, restriction: Restriction::{op['restriction']}, "
        f"data_elements: &[{elements}], grantless: {grantless} }}"
    )


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Failure as failure:
        print(f"gen-operations: {failure}", file=sys.stderr)
        sys.exit(2)
