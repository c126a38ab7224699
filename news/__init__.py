"""Domain: text, facts, ingestion, encoders, answering."""
