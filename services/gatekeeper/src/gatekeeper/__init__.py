"""Gatekeeper: moderation, currencies, routing rules and manual approval."""
