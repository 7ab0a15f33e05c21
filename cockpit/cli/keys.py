"""`cockpit keys`: every key binding of the cockpit by its id, with the key the user's keymap
gives it (screens/keymap.py reads the file and lists the bindings)."""

from __future__ import annotations

import click

from cockpit.cli.context import Refused, emit_json, print_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the bindings as JSON.")
def keys(as_json: bool) -> None:
    """Every key binding: its id, its key (after the keymap file), its action and screen.

    Remap a key in $XDG_CONFIG_HOME/cockpit/keymap.toml (else ~/.config/cockpit/), one
    line per binding id: "app.quit" = "ctrl+q".
    """
    from screens import keymap  # the top layer may reach the screens; nothing below does

    bound = keymap.all_bindings()
    try:
        remapped = keymap.read_keymap({b.id for b in bound})
    except keymap.KeymapError as error:
        raise Refused(str(error)) from None
    rows = [
        {
            "id": b.id,
            "key": remapped.get(b.id, b.key),
            "action": b.action,
            "screen": b.screen,
            "remapped": b.id in remapped,
        }
        for b in bound
    ]
    if as_json:
        emit_json({"keymap": str(keymap.keymap_path()), "bindings": rows})
        return
    click.echo(f"keymap: {keymap.keymap_path()}" + ("" if remapped else " (none: the default keys)"))
    print_table(
        [{**r, "key": f"{r['key']} *" if r["remapped"] else r["key"]} for r in rows],
        ["id", "key", "action", "screen"],
    )


COMMANDS = [keys]
