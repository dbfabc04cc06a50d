"""Placeholder: filled by the report builders of issue 14."""
