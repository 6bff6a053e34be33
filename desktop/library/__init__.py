"""Qt-free document library: files on disk, autosave, recovery journal, snapshots, export."""
