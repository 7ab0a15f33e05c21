"""The user's keymap and theme, kept in the cockpit's config folder.

`$XDG_CONFIG_HOME/cockpit/` (else `~/.config/cockpit/`) holds `keymap.toml`, which gives a
binding, by its id, the key or keys it answers to instead of its own:

    "app.quit" = "ctrl+q"
    "experiments.sort" = "s,o"

and `ui.toml`, where the cockpit keeps the theme last chosen. `cockpit keys` lists every id.
This module imports nothing of the core: the CLI reads the bindings through it, and it
imports the screens only to list them.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

KEYMAP_FILE = "keymap.toml"
UI_FILE = "ui.toml"


class KeymapError(Exception):
    """A keymap file that cannot be used: the message names the file and what is wrong."""


@dataclass(frozen=True)
class BoundKey:
    """One binding as `cockpit keys` prints it."""

    id: str
    key: str
    action: str
    screen: str
    description: str


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "cockpit"


def keymap_path() -> Path:
    return config_dir() / KEYMAP_FILE


def read_keymap(known_ids: set[str], path: Path | None = None) -> dict[str, str]:
    """The keymap file's remappings (none when there is no file); KeymapError when it is
    not TOML, names an id no binding has, or gives a key that is not a key name."""
    path = path or keymap_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KeymapError(f"{path}: cannot read it as TOML ({error})") from None
    keymap = {}
    for key_id, keys in data.items():
        if key_id not in known_ids:
            raise KeymapError(f"{path}: no binding has the id {key_id!r} (`cockpit keys` lists the ids)")
        parts = keys.split(",") if isinstance(keys, str) else []
        if not parts or any(not p.strip() or " " in p.strip() for p in parts):
            raise KeymapError(
                f'{path}: {key_id!r} needs a key name as a string, such as "ctrl+q" or "s,o" (got {keys!r})'
            )
        keymap[key_id] = ",".join(p.strip() for p in parts)
    return keymap


def read_theme() -> str | None:
    """The theme last chosen, if one was saved and the file reads."""
    try:
        theme = tomllib.loads((config_dir() / UI_FILE).read_text(encoding="utf-8")).get("theme")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return theme if isinstance(theme, str) else None


def save_theme(theme: str) -> None:
    """Keep `theme` for the next start (written whole, then renamed into place)."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{UI_FILE}.tmp"
    escaped = theme.replace("\\", "\\\\").replace('"', '\\"')
    temporary.write_text(f'theme = "{escaped}"\n', encoding="utf-8")
    temporary.replace(folder / UI_FILE)


def all_bindings() -> list[BoundKey]:
    """Every binding that has an id, of the app, its screens and their dialogs, with its
    default key; the app's first. Imports every module of the screens package."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import screens

    for module in pkgutil.iter_modules(screens.__path__):
        importlib.import_module(f"screens.{module.name}")
    found: dict[tuple[str, str], BoundKey] = {}
    for node_class in _subclasses(DOMNode):
        if not node_class.__module__.startswith("screens."):
            continue
        where = getattr(node_class, "TITLE", None) or node_class.__name__
        if node_class.__name__ == "CockpitApp":
            where = "every screen"
        for binding in node_class.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                bound = BoundKey(binding.id, binding.key, binding.action, where, binding.description)
                found[(binding.id, where)] = bound
    return sorted(found.values(), key=lambda b: b.screen != "every screen")


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out
