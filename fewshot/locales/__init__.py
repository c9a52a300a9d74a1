"""Translations of what the app shows. One module per language; see fewshot/i18n.py for how they are used."""
