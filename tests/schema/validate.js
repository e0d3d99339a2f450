#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Validates Kubernetes objects (a JSON array, as node-agent writes to
// /etc/kubernetes/nodeos/manifests/objects.json) against the OpenAPI schemas
// of the npm package kubernetes-models (generated from Kubernetes 1.19.2's
// swagger, the closest published set to 1.17), in STRICT mode: every object
// schema that lists properties gets additionalProperties: false, so an
// unknown or misspelt field is an error (the API server would silently drop
// it). Fields of 1.17 that a schema lacks are allowed explicitly below.
//
// Usage: node validate.js NODE_MODULES_DIR LABEL objects.json
// Prints TAP-ish lines: "ok - LABEL: N objects valid" or one
// "not ok - LABEL: Kind name: error" per invalid object; custom resources
// (no published schema) are reported as "# skip". Exit 1 on any error.
"use strict";
const fs = require("fs");
const path = require("path");

const [modulesArg, label, file] = process.argv.slice(2);
const modules = modulesArg && path.resolve(modulesArg);
if (!modulesArg || !label || !file) {
  console.error("usage: validate.js NODE_MODULES_DIR LABEL objects.json");
  process.exit(2);
}
const km = path.join(modules, "kubernetes-models");
const reg = require(path.join(modules, "@kubernetes-models/validate/dist/ajv.js"));

// 1.17 fields, by schema id, that the generated schemas may not carry.
// Service.spec.topologyKeys is alpha in 1.17 (ServiceTopology gate,
// docs/dojot-v0.5.0.md#verne-workers) and removed after 1.21.
const ALLOWED_EXTRA = {
  "io.k8s.api.core.v1.ServiceSpec": { topologyKeys: { type: "array", items: { type: "string" } } },
};

function strictify(schema) {
  if (Array.isArray(schema)) return schema.forEach(strictify);
  if (!schema || typeof schema !== "object") return;
  if (schema.properties && schema.additionalProperties === undefined &&
      !schema["x-kubernetes-preserve-unknown-fields"]) {
    schema.additionalProperties = false;
  }
  for (const v of Object.values(schema)) strictify(v);
}

const byGvk = {};
const origRegister = reg.register;
reg.register = (id, schema) => {
  const s = JSON.parse(JSON.stringify(schema));
  if (ALLOWED_EXTRA[id]) {
    for (const [k, v] of Object.entries(ALLOWED_EXTRA[id])) if (!s.properties[k]) s.properties[k] = v;
  }
  strictify(s);
  const p = s.properties || {};
  if (p.apiVersion && p.apiVersion.enum && p.kind && p.kind.enum) {
    byGvk[p.apiVersion.enum[0] + "/" + p.kind.enum[0]] = id;
  }
  origRegister(id, s);
};
for (const f of fs.readdirSync(path.join(km, "_schemas"))) {
  if (f.endsWith(".js")) require(path.join(km, "_schemas", f)).addSchema();
}

const objects = JSON.parse(fs.readFileSync(file, "utf8"));
let bad = 0, good = 0;
for (const o of objects) {
  const what = `${o.kind} ${(o.metadata || {}).name}`;
  const id = byGvk[`${o.apiVersion}/${o.kind}`];
  if (!id) {
    // a custom resource: only its envelope can be checked here
    const md = o.metadata || {};
    const envelope = typeof md.name === "string" && Object.keys(o).every((k) => ["apiVersion", "kind", "metadata", "spec"].includes(k));
    if (!envelope) {
      console.log(`not ok - ${label}: ${what}: ${o.apiVersion}/${o.kind} has no schema and a malformed envelope`);
      bad++;
    } else {
      console.log(`# skip ${label}: ${what}: no published schema for ${o.apiVersion}`);
    }
    continue;
  }
  if (reg.ajv.validate(id, o)) {
    good++;
  } else {
    bad++;
    const errs = reg.ajv.errors.slice(0, 3).map((e) => `${e.instancePath || "/"} ${e.message}` +
      (e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : "")).join("; ");
    console.log(`not ok - ${label}: ${what}: ${errs}`);
  }
}
if (bad === 0) console.log(`ok - ${label}: ${good} objects valid against the strict Kubernetes schemas`);
process.exit(bad ? 1 : 0);
