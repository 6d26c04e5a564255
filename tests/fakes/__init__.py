"""Fake external services speaking their real protocols on loopback, for tests (see EXTERNAL_APIS.md)."""
