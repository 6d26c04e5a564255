"""Root test configuration: every test can ask for a real nats-server or S3 (see ovation_testing.fixtures)."""

pytest_plugins = ["ovation_testing.fixtures"]
