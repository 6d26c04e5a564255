"""Test support for Ovation: real servers and service processes on free loopback ports, and pytest fixtures."""

from .processes import ServiceProcess
from .servers import NatsServer, S3Server

__all__ = ["NatsServer", "S3Server", "ServiceProcess"]
