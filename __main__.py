"""Berth: deploy the compose project named in the stack config (see README.md)."""

from berth.components.program import main

main()
