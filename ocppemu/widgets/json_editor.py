"""A JSON code editor widget: CodeMirror 6 through anywidget, with highlighting, schema-driven completion and hover,
and lint diagnostics.

The front end is the bundle ``ocppemu/widgets/static/json_editor.js`` built from ``widgets/json_editor/`` and
shipped inside the package: the browser loads nothing from the network. Validation that matters stays in Python:
the owner validates :attr:`JsonEditor.value` and pushes the sentences into :attr:`JsonEditor.errors`, shown as
error diagnostics; the browser's own schema lint (from :attr:`JsonEditor.schema`) is advisory, shown as warnings.

Needs ``anywidget`` (the ``ui`` extra); importing this module raises ``ImportError`` without it, which the
message crafter uses to fall back to a plain text area.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import anywidget
import traitlets

BUNDLE = "static/json_editor.js"


@cache
def bundle_source() -> str:
    """The packaged ES module of the editor (read once). Raises ``FileNotFoundError`` if the build is missing."""
    text = files("ocppemu.widgets").joinpath(BUNDLE).read_text(encoding="utf-8")
    # anywidget takes a one-line string with a file suffix for a path: keep the source unmistakably source.
    return text if "\n" in text else text + "\n"


class JsonEditor(anywidget.AnyWidget):
    """Edits JSON text in the browser.

    Traits (all synced): ``value`` the text (both ways: typing updates it, setting it replaces the document);
    ``schema`` a JSON schema (``{}`` for none) driving completion of property names and enum values, hovers and
    the advisory lint; ``errors`` sentences from the owner's validation, shown as errors in the editor;
    ``height`` a CSS length; ``read_only``. No trait ever raises on the browser's input: a bad document is just text.
    """

    _esm = bundle_source()

    value = traitlets.Unicode("").tag(sync=True)
    schema = traitlets.Dict().tag(sync=True)
    errors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    height = traitlets.Unicode("300px").tag(sync=True)
    read_only = traitlets.Bool(False).tag(sync=True)

    def __init__(self, value: str = "", *, schema: dict[str, Any] | None = None, height: str = "300px",
                 read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(value=value, schema=schema or {}, height=height, read_only=read_only, **kwargs)
