"""The vendor's activation server (installed with the ``server`` extra)."""
