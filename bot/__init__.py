"""Core of the bot: CLI, settings, router, rendering and platform adapters."""
