"""Test fakes (in-process stand-ins for external services) used by the newsbot test-suite."""
