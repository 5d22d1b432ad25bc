"""Berth's domain: compose files loaded into a typed model, and the deployment workflow."""
