//! spud's first-party calendar connector, over CalDAV (RFC 4791): the calendars under a
//! collection (a user's home, e.g. `https://dav.example.com/team/`), their events in a time
//! range, free slots for an appointment, and new events. Calendars are named by their URL. It
//! speaks HTTP through the SDK, so the host checks each request against the network grant and
//! logs in for it: the password is a `basic` credential the component never holds.

mod ical;
mod slots;

use chrono::{Duration, NaiveDateTime, NaiveTime};
pub use ical::{events as parse_events, parse_time, Event};
pub use slots::{free_slots, Window};
use spud_dav::{client::NS, Client, DavError};
use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "calendar",
    description: "CalDAV calendars: list them, read events in a time range, find free slots, create events.",
    requests: Requests::new()
        .network("http://*:*")
        .network("https://*:*")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(10_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [calendars, events, free_slots_tool, create_event],
}

fn client(url: &str, field: &str) -> Result<Client, ToolError> {
    Client::new(url, field, "calendar").map_err(err)
}

fn err(e: DavError) -> ToolError {
    ToolError::new(e.to_string())
}

/// Input of `calendars`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarsInput {
    /// The collection that holds the calendars, e.g. `https://dav.example.com/team/`.
    pub url: String,
}

/// One calendar.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Calendar {
    /// Its URL, as the other tools take it.
    pub url: String,
    /// Its last path segment.
    pub name: String,
    /// The name people see.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// The calendars.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CalendarsOutput {
    /// Every calendar in the collection, by name.
    pub calendars: Vec<Calendar>,
}

/// Lists the calendars in a CalDAV collection (a user's home), with the URLs the other tools take.
#[tool]
pub fn calendars(input: CalendarsInput) -> Result<CalendarsOutput, ToolError> {
    let c = client(&input.url, "url")?;
    let entries = c
        .propfind(
            &c.base,
            1,
            "<D:displayname/><D:resourcetype/><C:calendar-description/>",
        )
        .map_err(err)?;
    let mut calendars: Vec<Calendar> = entries
        .into_iter()
        .filter(|e| e.is("calendar"))
        .map(|e| Calendar {
            name: e
                .href
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            display_name: e
                .prop("displayname")
                .map(str::to_string)
                .filter(|s| !s.is_empty()),
            description: e
                .prop("calendar-description")
                .map(str::to_string)
                .filter(|s| !s.is_empty()),
            url: c.resolve(&e.href),
        })
        .collect();
    calendars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(CalendarsOutput { calendars })
}

/// Input of `events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsInput {
    /// The calendar's URL (from `calendars`), e.g. `https://dav.example.com/team/calendar/`.
    pub calendar: String,
    /// From: `2026-12-07T09:00:00Z` (RFC 3339) or `2026-12-07`.
    pub start: String,
    /// Until (exclusive), in the same form.
    pub end: String,
}

/// Events found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EventsOutput {
    /// The events that overlap the range, by start.
    pub events: Vec<Event>,
}

/// The events of the calendar `c` that overlap [start, end), by start.
fn query(c: &Client, start: NaiveDateTime, end: NaiveDateTime) -> Result<Vec<Event>, ToolError> {
    if end <= start {
        return Err(ToolError::new("`end` must be after `start`"));
    }
    let url = &c.base;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:calendar-query xmlns:D=\"DAV:\" {NS}>\
         <D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">\
         <C:comp-filter name=\"VEVENT\"><C:time-range start=\"{}\" end=\"{}\"/></C:comp-filter>\
         </C:comp-filter></C:filter></C:calendar-query>",
        ical::ical_utc(start),
        ical::ical_utc(end)
    );
    let entries = c.report(url, 1, body).map_err(err)?;
    let mut out = Vec::new();
    for e in entries {
        let Some(data) = e.prop("calendar-data") else {
            continue;
        };
        for ev in parse_events(data, &c.resolve(&e.href)).map_err(ToolError::new)? {
            // The server matched the object; keep only the events of it that overlap.
            if ev.span.0 < end
                && (ev.span.1 > start || (ev.span.0 >= start && ev.span.0 == ev.span.1))
            {
                out.push(ev);
            }
        }
    }
    out.sort_by_key(|e| e.span);
    Ok(out)
}

/// Lists the events of a calendar that overlap a time range, by start (a repeating event shows its first occurrence and its rule).
#[tool]
pub fn events(input: EventsInput) -> Result<EventsOutput, ToolError> {
    let start = parse_time("start", &input.start).map_err(ToolError::new)?;
    let end = parse_time("end", &input.end).map_err(ToolError::new)?;
    Ok(EventsOutput {
        events: query(&client(&input.calendar, "calendar")?, start, end)?,
    })
}

/// Input of `free_slots`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotsInput {
    /// The calendar's URL, e.g. `https://dav.example.com/team/calendar/`.
    pub calendar: String,
    /// Search from: `2026-12-07T09:00:00Z` or `2026-12-07`.
    pub start: String,
    /// Search until (exclusive).
    pub end: String,
    /// Each slot's length in minutes (5 to 1440).
    pub minutes: u32,
    /// Working hours start, `HH:MM` UTC (default `09:00`).
    #[serde(default)]
    pub day_start: Option<String>,
    /// Working hours end, `HH:MM` UTC (default `17:00`).
    #[serde(default)]
    pub day_end: Option<String>,
    /// Skip Saturdays and Sundays (default true).
    #[serde(default)]
    pub weekdays_only: Option<bool>,
    /// Return at most this many slots (default 10).
    #[serde(default)]
    pub max_slots: Option<u32>,
}

/// One free slot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Slot {
    /// Start, UTC (`2026-12-07T11:15:00Z`).
    pub start: String,
    /// End, UTC.
    pub end: String,
}

/// Free slots.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SlotsOutput {
    /// Slots of `minutes`, in order, within working hours, none overlapping an event.
    pub slots: Vec<Slot>,
    /// How many events in the range were in the way.
    pub busy_events: u64,
}

fn hhmm(field: &str, v: Option<&str>, default: (u32, u32)) -> Result<NaiveTime, ToolError> {
    match v {
        None => Ok(NaiveTime::from_hms_opt(default.0, default.1, 0).unwrap_or_default()),
        Some(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map_err(|_| ToolError::new(format!("{field}: `{s}` is not a time of day like 09:00"))),
    }
}

/// Finds free slots of a given length in a calendar between two times, within working hours (UTC), skipping weekends unless told otherwise; each free gap is cut into consecutive slots.
#[tool(name = "free_slots")]
pub fn free_slots_tool(input: SlotsInput) -> Result<SlotsOutput, ToolError> {
    let w = Window {
        start: parse_time("start", &input.start).map_err(ToolError::new)?,
        end: parse_time("end", &input.end).map_err(ToolError::new)?,
        day_start: hhmm("day_start", input.day_start.as_deref(), (9, 0))?,
        day_end: hhmm("day_end", input.day_end.as_deref(), (17, 0))?,
        weekdays_only: input.weekdays_only.unwrap_or(true),
        length: Duration::minutes(i64::from(input.minutes)),
        max: input.max_slots.unwrap_or(10) as usize,
    };
    w.check().map_err(ToolError::new)?;
    let busy = query(&client(&input.calendar, "calendar")?, w.start, w.end)?;
    let spans: Vec<_> = busy.iter().map(|e| e.span).collect();
    Ok(SlotsOutput {
        slots: free_slots(&spans, &w)
            .into_iter()
            .map(|(s, e)| Slot {
                start: ical::show_utc(s),
                end: ical::show_utc(e),
            })
            .collect(),
        busy_events: busy.len() as u64,
    })
}

/// Input of `create_event`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    /// The calendar's URL, e.g. `https://dav.example.com/team/calendar/`.
    pub calendar: String,
    /// The title.
    pub summary: String,
    /// Start: `2026-12-07T14:00:00Z` (RFC 3339; an offset is converted to UTC).
    pub start: String,
    /// End (after `start`).
    pub end: String,
    /// Where.
    #[serde(default)]
    pub location: Option<String>,
    /// Notes.
    #[serde(default)]
    pub description: Option<String>,
    /// Attendees' email addresses.
    #[serde(default)]
    pub attendees: Vec<String>,
    /// Refuse, and change nothing, when an event already overlaps the time (default false).
    #[serde(default)]
    pub only_if_free: bool,
}

/// The event created.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateOutput {
    /// Its new UID.
    pub uid: String,
    /// Its URL.
    pub url: String,
    /// The server's ETag for it, if given.
    pub etag: Option<String>,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// The title.
    pub summary: String,
}

/// Creates an event in a calendar (a new iCalendar object; nothing is overwritten); with `only_if_free`, refuses when the time is taken.
#[tool]
pub fn create_event(input: CreateInput) -> Result<CreateOutput, ToolError> {
    let start = parse_time("start", &input.start).map_err(ToolError::new)?;
    let end = parse_time("end", &input.end).map_err(ToolError::new)?;
    if end <= start {
        return Err(ToolError::new("`end` must be after `start`"));
    }
    if input.summary.trim().is_empty() {
        return Err(ToolError::new("give the event a `summary`"));
    }
    for a in &input.attendees {
        if !a.contains('@') || a.contains([' ', '\r', '\n', ':', ';']) {
            return Err(ToolError::new(format!(
                "attendee `{a}` is not an email address"
            )));
        }
    }
    let c = client(&input.calendar, "calendar")?;
    if input.only_if_free {
        let taken = query(&c, start, end)?;
        if !taken.is_empty() {
            let list: Vec<String> = taken
                .iter()
                .map(|e| format!("{} ({} – {})", e.summary, e.start, e.end))
                .collect();
            return Err(ToolError::new(format!(
                "the time is taken by: {}; nothing was created",
                list.join(", ")
            )));
        }
    }
    let uid = spud_dav::new_uid();
    let now = chrono::DateTime::from_timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default(),
        0,
    )
    .map(|d| d.naive_utc())
    .unwrap_or(start);
    let ics = ical::write_event(&ical::NewEvent {
        uid: &uid,
        summary: input.summary.trim(),
        start,
        end,
        location: input.location.as_deref(),
        description: input.description.as_deref(),
        attendees: &input.attendees,
        now,
    });
    let url = c.child(&format!("{uid}.ics"));
    let etag = c
        .put(&url, "text/calendar; charset=utf-8", ics, true)
        .map_err(err)?;
    Ok(CreateOutput {
        url: url.to_string(),
        uid,
        etag,
        start: ical::show_utc(start),
        end: ical::show_utc(end),
        summary: input.summary.trim().to_string(),
    })
}
