"""Signed evidence bundles: layout, signing keys, writer, verifier and catalog."""
