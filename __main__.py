"""Berth: deploy the compose project named in the stack config (see README.md)."""

from components.program import main

main()
