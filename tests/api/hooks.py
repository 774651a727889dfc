"""Schemathesis hooks for tests/api/conformance.sh (loaded through SCHEMATHESIS_HOOKS)."""
import schemathesis

# A tus PATCH body is plain bytes under its own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
