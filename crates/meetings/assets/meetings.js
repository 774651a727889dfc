// The meetings pages: times shown in the viewer's own zone (Intl.DateTimeFormat on the
// UTC times in <time datetime>), the zone named where a page asks, the browser's zone
// preselected in forms that have none, calendar meetings moved to the day they fall on
// here, and confirmations before destructive forms.

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const lang = document.documentElement.lang || undefined;
const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dayOf = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" });

for (const el of document.querySelectorAll("time[data-local]")) {
  const start = new Date(el.getAttribute("datetime"));
  if (Number.isNaN(start.getTime())) continue;
  let text = el.hasAttribute("data-time-only") ? timeOnly.format(start) : dateTime.format(start);
  const end = el.dataset.end ? new Date(el.dataset.end) : null;
  if (end && !Number.isNaN(end.getTime())) {
    const sameDay = dayOf.format(start) === dayOf.format(end);
    text += `–${sameDay ? timeOnly.format(end) : dateTime.format(end)}`;
  }
  el.textContent = text;
  el.title = zone;
}

for (const note of document.querySelectorAll("[data-zone-note]")) {
  note.textContent = (note.dataset.msg || "{zone}").replace("{zone}", zone);
}

// A form field with no zone chosen yet takes the browser's, if the list has it.
for (const field of document.querySelectorAll("[data-browser-zone]")) {
  if (field.tagName === "SELECT") {
    if ([...field.options].some((o) => o.value === zone)) field.value = zone;
  } else {
    field.value = zone;
  }
}

// The calendar: each meeting to the cell of the day it starts on in this zone.
const calendar = document.getElementById("calendar");
if (calendar) {
  let shown = 0;
  for (const link of calendar.querySelectorAll("a.meeting[data-start]")) {
    const day = dayOf.format(new Date(link.dataset.start));
    const cell = calendar.querySelector(`td[data-date="${day}"]`);
    if (cell) {
      cell.append(link);
      shown += 1;
    } else {
      link.remove();
    }
  }
  const none = document.getElementById("none-this-month");
  if (none) none.hidden = shown > 0;
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
