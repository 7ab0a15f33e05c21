"""The console script: `cockpit --version` answers before click or any command loads."""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from cockpit import __version__

        print(f"cockpit {__version__}")
        return
    from cockpit.cli import main as cli_main

    cli_main()
