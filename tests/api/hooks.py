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


# A session must not end before it starts, and lasts at most a day: a rule between two fields no
# schema states, so only cases keeping it are sent as valid (the server's 422 for the
# others is tested in crates/server/tests/api/choir.rs).
@schemathesis.hook("filter_body").apply_to(path="/api/v1/choir/rooms/{id}/sessions")
def sessions_end_after_they_start(context, body):
    from datetime import datetime
    if not isinstance(body, dict):
        return True
    try:
        start = datetime.fromisoformat(str(body.get("starts_at")))
        end = datetime.fromisoformat(str(body.get("ends_at")))
        span = (end - start).total_seconds()
    except (TypeError, ValueError):
        return True
    return 0 <= span <= 86400
