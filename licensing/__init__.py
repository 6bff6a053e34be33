"""One-time licenses: the app's client, the vendor's server and the vendor's tools."""
