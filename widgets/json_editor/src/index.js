// The JSON editor of ocppemu's message crafter: CodeMirror 6 as an anywidget front end.
//
// Model (see ocppemu/widgets/json_editor.py): `value` (the text, synced both ways), `schema` (JSON schema for
// completion, hover and an advisory lint), `errors` (the authoritative validation, pushed from Python and shown as
// error diagnostics), `height` (CSS length), `read_only`. CodeMirror injects its own styles from JS, so the bundle
// needs no stylesheet and fetches nothing.
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import {
  EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, hoverTooltip, keymap, lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting,
} from "@codemirror/language";
import { json, jsonParseLinter } from "@codemirror/lang-json";
import { forceLinting, lintGutter, linter, lintKeymap } from "@codemirror/lint";
import {
  autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap,
} from "@codemirror/autocomplete";
import { schemaCompletion, schemaDiagnostics, schemaHoverText } from "./schema.js";

// Marks the transactions that apply a value coming from Python, so they are not echoed back.
const fromModel = Annotation.define();

const theme = EditorView.theme({
  "&": {
    fontSize: "var(--jp-code-font-size, 13px)",
    backgroundColor: "var(--jp-layout-color0, #fff)",
  },
  "&.cm-focused": { outline: "1px solid var(--jp-brand-color1, #1976d2)" },
  ".cm-scroller": { fontFamily: "var(--jp-code-font-family, monospace)", overflow: "auto" },
  ".cm-gutters": { backgroundColor: "var(--jp-layout-color1, #f5f5f5)", borderRight: "1px solid #e0e0e0" },
  ".cm-tooltip.cm-ocppemu-hover": { padding: "4px 8px", maxWidth: "480px", whiteSpace: "pre-wrap" },
});

// A Python error naming "line L column C" (a JSON syntax error) is placed there; any other on line 1.
function pythonDiagnostics(state, errors) {
  return errors.map((message) => {
    const m = /line (\d+) column (\d+)/.exec(message);
    let from = 0;
    let to = state.doc.lines ? state.doc.line(1).to : 0;
    if (m) {
      const n = Math.min(Math.max(1, Number(m[1])), state.doc.lines);
      const line = state.doc.line(n);
      from = Math.min(line.from + Math.max(0, Number(m[2]) - 1), line.to);
      to = Math.min(from + 1, state.doc.length);
    }
    return { from, to: Math.max(from, to), severity: "error", source: "ocppemu", message: String(message) };
  });
}

function render({ model, el }) {
  const parseLint = jsonParseLinter();
  const readOnly = new Compartment();
  const readOnlyExt = (ro) => [EditorState.readOnly.of(ro), EditorView.editable.of(!ro)];
  const getSchema = () => model.get("schema");

  const lint = linter((view) => {
    const syntax = parseLint(view);
    if (syntax.length) return syntax;
    return [...pythonDiagnostics(view.state, model.get("errors") ?? []), ...schemaDiagnostics(view.state, getSchema())];
  }, { delay: 300 });

  const hover = hoverTooltip((view, pos) => {
    const found = schemaHoverText(view.state, pos, getSchema());
    if (!found) return null;
    return {
      pos: found.from, end: found.to, above: true,
      create() {
        const dom = document.createElement("div");
        dom.className = "cm-ocppemu-hover";
        dom.textContent = found.text;
        return { dom };
      },
    };
  });

  const sync = EditorView.updateListener.of((update) => {
    if (!update.docChanged || update.transactions.some((tr) => tr.annotation(fromModel))) return;
    model.set("value", update.state.doc.toString());
    model.save_changes();
  });

  const view = new EditorView({
    parent: el,
    state: EditorState.create({
      doc: model.get("value") ?? "",
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), foldGutter(), drawSelection(), history(), indentOnInput(),
        bracketMatching(), closeBrackets(), highlightActiveLine(), syntaxHighlighting(defaultHighlightStyle),
        json(), lint, lintGutter(), hover,
        autocompletion({ override: [schemaCompletion(getSchema)], icons: false }),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...foldKeymap, ...completionKeymap,
          ...lintKeymap, indentWithTab]),
        EditorState.tabSize.of(2), theme, readOnly.of(readOnlyExt(Boolean(model.get("read_only")))), sync,
      ],
    }),
  });

  el.classList.add("ocppemu-json-editor");
  // inline: JupyterLab's own CodeMirror styles reset the borders of .cm-editor
  view.dom.style.border = "1px solid var(--jp-border-color1, #bdbdbd)";
  // JupyterLab must not treat keys typed here as notebook shortcuts.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  const applyHeight = () => { view.dom.style.height = model.get("height") || "300px"; };
  applyHeight();

  const onValue = () => {
    const value = model.get("value") ?? "";
    if (value === view.state.doc.toString()) return;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value }, annotations: fromModel.of(true) });
  };
  const onLintInputs = () => forceLinting(view);
  const onReadOnly = () => view.dispatch({ effects: readOnly.reconfigure(readOnlyExt(Boolean(model.get("read_only")))) });
  model.on("change:value", onValue);
  model.on("change:errors", onLintInputs);
  model.on("change:schema", onLintInputs);
  model.on("change:height", applyHeight);
  model.on("change:read_only", onReadOnly);

  return () => {
    model.off("change:value", onValue);
    model.off("change:errors", onLintInputs);
    model.off("change:schema", onLintInputs);
    model.off("change:height", applyHeight);
    model.off("change:read_only", onReadOnly);
    view.destroy();
  };
}

export default { render };
