"""Platform adapters: each turns native updates into ``Incoming`` and renders ``Reply``."""
