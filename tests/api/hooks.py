"""Schemathesis hooks for tests/api/conformance.sh (loaded through SCHEMATHESIS_HOOKS)."""
import schemathesis

# A tus PATCH body is plain bytes under its own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# A recording's chunk is the recorder's bytes under its audio type.
schemathesis.serializer.alias("audio/webm", "application/octet-stream")


# A multipart form carries text and files only: an empty list is no part at all, and a
# number or a boolean goes as its text, so a "wrong type" case for the optional `studio`
# field is a request the server rightly accepts. Only such cases are dropped; every other
# form case (unknown fields, missing file, bad checksums) still runs.
@schemathesis.hook("filter_body").apply_to(path="/api/v1/uploads/form")
def only_text_and_files_in_forms(context, body):
    if isinstance(body, dict):
        return all(value is None or isinstance(value, (str, bytes)) for value in body.values())
    return True
