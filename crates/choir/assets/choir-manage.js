// The choir's plain pages: times shown in the viewer's own zone, session times sent with
// the browser's offset, confirmations before deleting, and the uploads of backing tracks
// and images (a form upload with progress, then handing it to the room; the page
// refreshes while the server converts a track).

const pad = (n) => String(n).padStart(2, "0");

for (const el of document.querySelectorAll("time[data-local-time]")) {
  const when = new Date(el.getAttribute("datetime"));
  if (Number.isNaN(when.getTime())) continue;
  el.textContent = el.hasAttribute("data-time-only")
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// A datetime-local value has no zone: add the browser's before it is sent.
for (const form of document.querySelectorAll("form")) {
  form.addEventListener("submit", (event) => {
    const ask = form.dataset.confirm;
    if (ask && !window.confirm(ask)) {
      event.preventDefault();
      return;
    }
    for (const input of form.querySelectorAll("input[data-local-zone]")) {
      if (!input.value || input.type !== "datetime-local") continue;
      const local = new Date(input.value);
      if (Number.isNaN(local.getTime())) continue;
      const minutes = -local.getTimezoneOffset();
      const sign = minutes >= 0 ? "+" : "-";
      const zone = `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = input.name;
      hidden.value = `${input.value.length === 16 ? input.value + ":00" : input.value}${zone}`;
      input.removeAttribute("name");
      form.append(hidden);
    }
  });
}

const share = document.getElementById("share-link");
if (share) share.textContent = new URL(share.dataset.path, location.href).href;

// Each upload form sends its file through the platform's uploads, then hands it to the
// room's library named in `data-upload-to` (the file's name names it).
for (const upload of document.querySelectorAll("form[data-upload-to]")) {
  const status = upload.querySelector("[role=status]");
  const bar = upload.querySelector("progress");
  const say = (text) => { status.textContent = text; };
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = upload.querySelector("input[type=file]").files[0];
    if (!file) return;
    const csrf = upload.dataset.csrf;
    const body = new FormData();
    body.append("studio", "choir");
    body.append("file", file, file.name);
    bar.hidden = false;
    say(upload.dataset.msgUploading);
    try {
      const stored = await new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", "/api/v1/uploads/form");
        xhr.setRequestHeader("X-CSRF-Token", csrf);
        xhr.responseType = "json";
        xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
        xhr.onload = () => (xhr.status < 300 ? resolve(xhr.response) : reject(xhr.response));
        xhr.onerror = () => reject(null);
        xhr.send(body);
      });
      const answer = await fetch(upload.dataset.uploadTo, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ upload_id: stored.id }),
      });
      if (!answer.ok) throw await answer.json().catch(() => null);
      location.reload();
    } catch (problem) {
      bar.hidden = true;
      say(problem && problem.detail ? problem.detail : upload.dataset.msgFailed);
    }
  });
}

// Tracks and recordings being made: look again in a moment.
if (document.querySelector('[data-status="waiting"], [data-status="processing"]')) {
  setTimeout(() => location.reload(), 4000);
}
