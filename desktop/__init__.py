"""Draftsmith's desktop application: the editor (``ui``), documents on disk (``library``)
and end-to-end-encrypted sync (``sync``). Only ``desktop.ui`` imports Qt."""
