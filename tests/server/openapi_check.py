#!/usr/bin/env python3
"""Check the OpenAPI document of `cratis serve` against its routes (GET /) and validate its
structure: python3 openapi_check.py OPENAPI.json INDEX.json. Prints each problem; exits 1 on any."""
import json
import re
import sys

doc = json.load(open(sys.argv[1]))
index = json.load(open(sys.argv[2]))
problems = []
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

def need(cond, msg):
    if not cond:
        problems.append(msg)

# structure (OpenAPI 3.0.x, the parts this document uses)
need(isinstance(doc, dict), "the document is not an object")
need(re.fullmatch(r"3\.0\.\d+", str(doc.get("openapi", ""))), "openapi is not 3.0.x")
info = doc.get("info", {})
need(isinstance(info.get("title"), str) and isinstance(info.get("version"), str), "info needs title and version")
paths = doc.get("paths", {})
need(isinstance(paths, dict) and paths, "paths is missing or empty")
schemes = doc.get("components", {}).get("securitySchemes", {})

def resolve(ref):
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node

def walk(node, where):
    if isinstance(node, dict):
        if "$ref" in node:
            need(resolve(node["$ref"]) is not None, f"{where}: $ref {node['$ref']} does not resolve")
        for k, v in node.items():
            walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}/{i}")

walk(doc, "#")
for sec in doc.get("security", []):
    for name in sec:
        need(name in schemes, f"security names unknown scheme {name}")
documented = set()
for path, item in paths.items():
    need(path.startswith("/"), f"path {path} does not start with /")
    templ = set(re.findall(r"{([^}]+)}", path))
    for method, op in item.items():
        need(method in METHODS, f"{path}: unknown method {method}")
        documented.add((method.upper(), path))
        need(isinstance(op.get("responses"), dict) and op["responses"], f"{method} {path}: no responses")
        for code, r in op.get("responses", {}).items():
            need(re.fullmatch(r"[1-5]\d\d|default", code), f"{method} {path}: bad response code {code}")
            need(isinstance(r.get("description"), str), f"{method} {path} {code}: no description")
        declared = set()
        for p in op.get("parameters", []):
            need(p.get("in") in {"path", "query", "header", "cookie"}, f"{method} {path}: bad parameter {p}")
            need("schema" in p, f"{method} {path}: parameter {p.get('name')} has no schema")
            if p.get("in") == "path":
                need(p.get("required") is True, f"{method} {path}: path parameter {p.get('name')} not required")
                declared.add(p.get("name"))
        need(templ == declared, f"{method} {path}: path parameters {sorted(templ)} declared as {sorted(declared)}")
routed = {(r["method"], r["path"]) for r in index["routes"]}
for m, p in sorted(routed - documented):
    problems.append(f"route {m} {p} is not documented")
for m, p in sorted(documented - routed):
    problems.append(f"documented {m} {p} is not routed")
for p in problems:
    print(p)
print(f"{len(routed)} routes, {len(documented)} operations, {len(problems)} problems")
sys.exit(1 if problems else 0)
