"""The vendor's command line: signing keys, mint, revoke, inspect."""
