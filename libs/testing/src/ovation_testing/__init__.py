"""Test support for Ovation: real servers started on free loopback ports, and pytest fixtures."""

from .servers import NatsServer, S3Server

__all__ = ["NatsServer", "S3Server"]
