// Expands the events of an iCalendar feed with ical.js (the parser of Thunderbird) and prints JSON.
//
//   node expand.mjs FEED.ics WINDOW_START WINDOW_END
//
// WINDOW_* are ISO 8601 instants (e.g. 2026-12-01T00:00:00Z). Prints one JSON object:
// {"calendar": {...calendar properties...}, "occurrences": [{uid, recurrence_id, start, end,
// summary, location, description, status, sequence}, ...]} with times as UTC ISO strings, for
// every occurrence whose [start, end) overlaps the window, cancelled ones included (status tells).
// Exits non-zero when a TZID is used without a VTIMEZONE in the feed: ical.js would silently read
// such times as floating, which is exactly the bug a subscribed calendar shows an hour or a day off.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

// Instances moved by an override can come from outside the window: look this far around it.
const MARGIN_SECONDS = 40 * 24 * 3600;

function fail(message) {
  process.stderr.write(`expand.mjs: ${message}\n`);
  process.exit(2);
}

const [path, windowStartText, windowEndText] = process.argv.slice(2);
if (!path || !windowStartText || !windowEndText) fail("usage: node expand.mjs FEED.ics WINDOW_START WINDOW_END");
const windowStart = Date.parse(windowStartText);
const windowEnd = Date.parse(windowEndText);
if (Number.isNaN(windowStart) || Number.isNaN(windowEnd)) fail("window bounds must be ISO 8601 instants");

const text = readFileSync(path === "-" ? 0 : path, "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));

ICAL.TimezoneService.reset();
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(vtimezone);

const vevents = calendar.getAllSubcomponents("vevent");
for (const vevent of vevents) {
  for (const prop of vevent.getAllProperties()) {
    const tzid = prop.getParameter("tzid");
    if (tzid && !ICAL.TimezoneService.has(tzid)) fail(`${prop.name} uses TZID=${tzid} but the feed has no VTIMEZONE for it`);
  }
}

const utc = (time) => new Date(time.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
const value = (component, name) => {
  const found = component.getFirstPropertyValue(name);
  return found === null || found === undefined ? null : String(found);
};

// Group masters and their RECURRENCE-ID overrides by UID, as a calendar client does.
const byUid = new Map();
for (const vevent of vevents) {
  const uid = value(vevent, "uid");
  if (!byUid.has(uid)) byUid.set(uid, { master: null, exceptions: [] });
  const entry = byUid.get(uid);
  if (vevent.hasProperty("recurrence-id")) entry.exceptions.push(vevent);
  else if (entry.master) fail(`two VEVENTs without RECURRENCE-ID share UID ${uid}`);
  else entry.master = vevent;
}

const occurrences = [];
function add(uid, item, start, end, recurrenceId) {
  const startMs = start.toUnixTime() * 1000;
  const endMs = end.toUnixTime() * 1000;
  if (!(startMs < windowEnd && endMs > windowStart)) return;
  const component = item.component;
  occurrences.push({
    uid,
    recurrence_id: recurrenceId ? utc(recurrenceId) : null,
    start: utc(start),
    end: utc(end),
    summary: value(component, "summary"),
    location: value(component, "location"),
    description: value(component, "description"),
    status: value(component, "status") || "CONFIRMED",
    sequence: Number(value(component, "sequence") || 0),
  });
}

for (const [uid, { master, exceptions }] of byUid) {
  if (!master) fail(`UID ${uid} has overrides but no master VEVENT`);
  const event = new ICAL.Event(master);
  for (const exception of exceptions) event.relateException(exception);
  if (!event.isRecurring()) {
    add(uid, event, event.startDate, event.endDate, null);
    continue;
  }
  const iterator = event.iterator();
  const stopAt = windowEnd + MARGIN_SECONDS * 1000;
  let guard = 0;
  for (let next = iterator.next(); next; next = iterator.next()) {
    if (next.toUnixTime() * 1000 > stopAt) break;
    if (++guard > 100000) fail(`UID ${uid} expands without end`);
    const details = event.getOccurrenceDetails(next);
    add(uid, details.item, details.startDate, details.endDate, details.recurrenceId);
  }
}

occurrences.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.uid < b.uid ? -1 : 1));

const calendarProps = {};
for (const name of ["version", "prodid", "calscale", "method", "x-wr-calname", "name", "x-published-ttl", "refresh-interval"]) {
  calendarProps[name] = value(calendar, name);
}
calendarProps.vtimezones = calendar.getAllSubcomponents("vtimezone").map((tz) => value(tz, "tzid"));

process.stdout.write(JSON.stringify({ calendar: calendarProps, occurrences }) + "\n");
