"""Qt-free end-to-end-encrypted sync engine and its WebDAV remote."""
