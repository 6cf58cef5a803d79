// Schema-driven help for the JSON editor: completion of property names and values, a hover with the schema's
// description, and a lint of the common schema rules. The schema is the JSON schema the Python side passes in
// (OCPP's draft-06 request schemas: local "$ref" to "#/definitions/..." or "#/$defs/...", "properties",
// "required", "additionalProperties", "enum", "type", "items", "maxLength"). Everything here is advisory: the
// authoritative validation runs in Python and comes back as the widget's `errors`.
import { syntaxTree } from "@codemirror/language";
import { snippetCompletion } from "@codemirror/autocomplete";

const PUNCTUATION = new Set(["{", "}", "[", "]", ",", ":", "⚠"]);
const SCALARS = new Set(["String", "Number", "True", "False", "Null"]);

/** Follow local "$ref"s (a bounded number of hops, so a cyclic schema cannot hang the editor). */
export function resolve(root, schema) {
  let s = schema;
  for (let hops = 0; s && typeof s === "object" && typeof s.$ref === "string" && hops < 32; hops++) {
    const ref = s.$ref;
    if (!ref.startsWith("#/")) return null;
    let target = root;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
      target = target && typeof target === "object" ? target[key] : undefined;
    }
    s = target;
  }
  return s && typeof s === "object" ? s : null;
}

/** The sub-schema at `path` (keys and array indices), or null when the schema says nothing there. */
export function schemaAt(root, path) {
  let s = resolve(root, root);
  for (const seg of path) {
    if (!s) return null;
    if (typeof seg === "number") {
      const items = Array.isArray(s.items) ? s.items[seg] : s.items;
      s = resolve(root, items);
    } else if (s.properties && Object.prototype.hasOwnProperty.call(s.properties, seg)) {
      s = resolve(root, s.properties[seg]);
    } else {
      s = typeof s.additionalProperties === "object" ? resolve(root, s.additionalProperties) : null;
    }
  }
  return s;
}

function keyOf(state, node) {
  const text = state.sliceDoc(node.from, node.to);
  try {
    return JSON.parse(text);
  } catch {
    return text.replace(/^"|"$/g, "");
  }
}

function valueChildren(node) {
  const out = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (!PUNCTUATION.has(c.name)) out.push(c);
  return out;
}

/** JSON path (keys and indices) of `node`: a Property counts with its key unless we came from its name. */
export function pathTo(state, node) {
  const path = [];
  let child = null;
  for (let n = node; n; child = n, n = n.parent) {
    if (n.name === "Property") {
      const name = n.getChild("PropertyName");
      if (name && (child === null || child.from >= name.to)) path.unshift(keyOf(state, name));
    } else if (n.name === "Array" && child) {
      path.unshift(Math.max(0, valueChildren(n).findIndex((c) => c.from === child.from && c.to === child.to)));
    }
  }
  return path;
}

function typeOf(schema) {
  if (!schema) return "";
  if (Array.isArray(schema.enum)) return "enum";
  return Array.isArray(schema.type) ? schema.type.join("|") : (schema.type ?? "");
}

function describe(schema) {
  const text = (schema && schema.description ? String(schema.description) : "").replace(/\r/g, "").trim();
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

function valueSnippet(schema) {
  switch (schema && !Array.isArray(schema.enum) ? schema.type : "string") {
    case "object": return "{\n\t${}\n}";
    case "array": return "[${}]";
    case "integer":
    case "number": return "${1:0}";
    case "boolean": return "${1:false}";
    default: return '"${}"';
  }
}

/** What the cursor is in: a key slot of an object or a value slot, with the range a completion replaces. */
function slotAt(context) {
  const { state, pos } = context;
  const node = syntaxTree(state).resolveInner(pos, -1);
  const word = context.matchBefore(/"?[\w$.-]*/);
  const typed = word ? { from: word.from, to: pos } : { from: pos, to: pos };
  if (node.name === "PropertyName") {
    return { kind: "key", object: node.parent && node.parent.parent, from: node.from, to: node.to };
  }
  if (SCALARS.has(node.name) && node.parent) {
    if (node.parent.name === "Property") return { kind: "value", at: node.parent, from: node.from, to: node.to };
    if (node.parent.name === "Array") {
      return { kind: "value", at: node.parent, index: node, from: node.from, to: node.to };
    }
    if (node.parent.name === "Object") return { kind: "key", object: node.parent, ...typed };
  }
  for (let n = node; n; n = n.parent) {
    // after a closed object or array the cursor is in its container, not in it
    if ((n.name === "Object" || n.name === "Array") && n.lastChild && ["}", "]"].includes(n.lastChild.name)
        && pos >= n.to) continue;
    if (n.name === "Property") {
      const colon = n.getChild(":");
      if (colon && pos >= colon.to) return { kind: "value", at: n, ...typed };
      return { kind: "key", object: n.parent, ...typed };
    }
    if (n.name === "Object") return { kind: "key", object: n, ...typed };
    if (n.name === "Array") return { kind: "value", at: n, index: null, ...typed };
    if (n.name === "JsonText") return { kind: "value", at: null, ...typed };
  }
  return null;
}

function arrayIndexAt(array, pos) {
  let index = 0;
  for (const c of valueChildren(array)) if (c.to < pos) index++;
  return index;
}

/** A completion source over the schema returned by `getSchema()`. */
export function schemaCompletion(getSchema) {
  return (context) => {
    const root = getSchema();
    if (!root || typeof root !== "object") return null;
    const slot = slotAt(context);
    if (!slot) return null;
    if (!context.explicit && slot.from === slot.to) return null;  // typing opens it only once a word has begun
    const { state } = context;
    if (slot.kind === "key") {
      if (!slot.object) return null;
      const schema = schemaAt(root, pathTo(state, slot.object));
      if (!schema || !schema.properties) return null;
      const present = new Set();
      for (const prop of slot.object.getChildren("Property")) {
        const name = prop.getChild("PropertyName");
        if (name && !(name.from === slot.from)) present.add(keyOf(state, name));
      }
      const required = new Set(Array.isArray(schema.required) ? schema.required : []);
      const options = Object.keys(schema.properties).filter((k) => !present.has(k)).map((key) => {
        const sub = resolve(root, schema.properties[key]);
        return snippetCompletion(`${JSON.stringify(key)}: ${valueSnippet(sub)}`, {
          label: JSON.stringify(key),
          type: "property",
          detail: (required.has(key) ? "required " : "") + typeOf(sub),
          info: describe(sub) || undefined,
          boost: required.has(key) ? 10 : 0,
        });
      });
      return { from: slot.from, to: slot.to, options, validFor: /^"?[\w$.-]*"?$/ };
    }
    let path;
    if (slot.at === null) path = [];
    else if (slot.at.name === "Array") {
      const index = slot.index ? slot.index.from : slot.from;
      path = [...pathTo(state, slot.at), arrayIndexAt(slot.at, index)];
    } else path = pathTo(state, slot.at);
    const schema = schemaAt(root, path);
    if (!schema) return null;
    const options = [];
    if (Array.isArray(schema.enum)) {
      for (const v of schema.enum) options.push({ label: JSON.stringify(v), type: "enum" });
    } else if (schema.const !== undefined) {
      options.push({ label: JSON.stringify(schema.const), type: "constant" });
    } else if (schema.type === "boolean") {
      options.push({ label: "true", type: "keyword" }, { label: "false", type: "keyword" });
    } else if (schema.type === "object") {
      options.push(snippetCompletion("{\n\t${}\n}", { label: "{}", type: "type", detail: "object" }));
    } else if (schema.type === "array") {
      options.push(snippetCompletion("[${}]", { label: "[]", type: "type", detail: "array" }));
    }
    if (!options.length) return null;
    return { from: slot.from, to: slot.to, options, validFor: /^"?[\w$.-]*"?$/ };
  };
}

/** Hover text for a property name: its type, whether it is required, its enum values and description. */
export function schemaHoverText(state, pos, root) {
  if (!root || typeof root !== "object") return null;
  const node = syntaxTree(state).resolveInner(pos, 1);
  if (node.name !== "PropertyName" || !node.parent) return null;
  const schema = schemaAt(root, pathTo(state, node.parent));
  if (!schema) return null;
  const parent = schemaAt(root, pathTo(state, node.parent.parent));
  const key = keyOf(state, node);
  const required = parent && Array.isArray(parent.required) && parent.required.includes(key);
  const lines = [`${key}: ${typeOf(schema) || "any"}${required ? " (required)" : ""}`];
  if (Array.isArray(schema.enum)) lines.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  if (schema.maxLength !== undefined) lines.push(`at most ${schema.maxLength} characters`);
  const text = describe(schema);
  if (text) lines.push(text);
  return { from: node.from, to: node.to, text: lines.join("\n") };
}

const JSON_TYPE = { Object: "object", Array: "array", String: "string", True: "boolean", False: "boolean",
  Null: "null" };

function typeMatches(schema, node, state) {
  if (schema.type === undefined) return true;
  const wanted = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (node.name === "Number") {
    const integer = /^-?\d+$/.test(state.sliceDoc(node.from, node.to));
    return wanted.includes("number") || (integer && wanted.includes("integer"));
  }
  return wanted.includes(JSON_TYPE[node.name]);
}

function lintValue(state, node, schema, root, out, depth) {
  if (!schema || depth > 64) return;
  if (!typeMatches(schema, node, state)) {
    const wanted = Array.isArray(schema.type) ? schema.type.join(" or ") : schema.type;
    out.push({ from: node.from, to: node.to, severity: "warning", message: `expected ${wanted}` });
    return;
  }
  let value;
  if (SCALARS.has(node.name)) {
    try {
      value = JSON.parse(state.sliceDoc(node.from, node.to));
    } catch {
      return;
    }
  }
  if (Array.isArray(schema.enum) && SCALARS.has(node.name) && !schema.enum.some((v) => v === value)) {
    const shown = schema.enum.slice(0, 12).map((v) => JSON.stringify(v)).join(", ");
    out.push({ from: node.from, to: node.to, severity: "warning",
      message: `must be one of ${shown}${schema.enum.length > 12 ? ", …" : ""}` });
  }
  if (typeof value === "string" && typeof schema.maxLength === "number" && value.length > schema.maxLength) {
    out.push({ from: node.from, to: node.to, severity: "warning",
      message: `longer than ${schema.maxLength} characters (${value.length})` });
  }
  if (node.name === "Object") {
    const seen = new Set();
    for (const prop of node.getChildren("Property")) {
      const name = prop.getChild("PropertyName");
      if (!name) continue;
      const key = keyOf(state, name);
      seen.add(key);
      const sub = schema.properties && Object.prototype.hasOwnProperty.call(schema.properties, key)
        ? resolve(root, schema.properties[key])
        : (typeof schema.additionalProperties === "object" ? resolve(root, schema.additionalProperties) : null);
      if (!sub && schema.additionalProperties === false) {
        out.push({ from: name.from, to: name.to, severity: "warning", message: `unknown property ${key}` });
        continue;
      }
      const valueNode = valueChildren(prop).find((c) => c.name !== "PropertyName");
      if (valueNode && sub) lintValue(state, valueNode, sub, root, out, depth + 1);
    }
    const missing = (Array.isArray(schema.required) ? schema.required : []).filter((k) => !seen.has(k));
    if (missing.length) {
      out.push({ from: node.from, to: node.from + 1, severity: "warning",
        message: `missing required ${missing.length > 1 ? "properties" : "property"} ${missing.join(", ")}` });
    }
  } else if (node.name === "Array") {
    valueChildren(node).forEach((item, i) => {
      const sub = resolve(root, Array.isArray(schema.items) ? schema.items[i] : schema.items);
      if (sub) lintValue(state, item, sub, root, out, depth + 1);
    });
  }
}

/** Schema diagnostics of the whole document (call only when it is syntactically valid JSON). */
export function schemaDiagnostics(state, root) {
  if (!root || typeof root !== "object") return [];
  const top = syntaxTree(state).topNode;
  const value = valueChildren(top)[0];
  const out = [];
  if (value) lintValue(state, value, resolve(root, root), root, out, 0);
  return out;
}
