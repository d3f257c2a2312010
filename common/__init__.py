"""Shared library of OptionsFlow: settings, message schemas, names, logging, Redis."""
