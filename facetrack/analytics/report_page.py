"""The HTML of ``facetrack report``: one page, its CSS inline, its charts inline SVG
(``report_charts``), its heatmaps data URIs: it works offline and loads nothing. Every value
read from the files is HTML-escaped. A figure that is not known (a ratio over nothing, a file
that is missing) reads "—", never NaN."""

from __future__ import annotations

import math
from html import escape

from facetrack.analytics.report import Heatmap, Report, Totals
from facetrack.analytics.report_charts import (
    MAX_BARS,
    OTS_COLOUR,
    Series,
    chart,
    target_colour,
)
from facetrack.analytics.windows import ALL

NONE = "—"
DWELL_LABELS = ("0–5 s", "5–15 s", "15–30 s", "30–60 s", "60 s +")

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#1f2430;background:#f3f4f7;overflow-wrap:anywhere}
main{max-width:1100px;margin:0 auto;padding:16px}
header h1{margin:8px 0 2px;font-size:26px}
header p{margin:0;color:#5b6170}
section{background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:16px;
margin:16px 0}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px;color:#3b4150}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{border:1px solid #e1e4ea;border-radius:8px;padding:10px 12px;background:#fafbfc}
.card .value{font-size:26px;font-weight:650;line-height:1.15}
.card .label{font-weight:600}
.card .hint,.note,figure small{color:#5b6170;font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(300px,100%),1fr));gap:16px}
figure{margin:0}
figcaption{font-weight:600;margin-bottom:6px}
figure small{display:block;margin-top:4px;font-weight:400}
svg{display:block;width:100%;height:auto}
svg .grid{stroke:#e6e8ee;stroke-width:1}
svg .axis{stroke:#8a90a0;stroke-width:1}
svg .tick{font-size:12px;fill:#5b6170}
.legend{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;
font-size:13px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;
vertical-align:-1px}
img{display:block;width:100%;height:auto;border-radius:6px}
.heats{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(260px,100%),1fr));gap:16px;
margin-top:16px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 8px;border-bottom:1px solid #e6e8ee;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
th{font-weight:600;color:#3b4150;overflow-wrap:normal}
.empty{font-size:20px;font-weight:600}
details summary{cursor:pointer;font-weight:600}
dt{font-weight:600;margin-top:8px}
dd{margin:0 0 0 16px;color:#3b4150}
footer{color:#5b6170;font-size:12px;margin:8px 0 24px}
@media (max-width:640px){
main{padding:10px}
section{padding:12px}
header h1{font-size:22px}
.cards{grid-template-columns:repeat(2,minmax(0,1fr))}
.card .value{font-size:22px}
table.stack thead{display:none}
table.stack tr{display:block;border:1px solid #e1e4ea;border-radius:8px;margin-bottom:8px}
table.stack td{display:flex;justify-content:space-between;gap:12px;border-bottom:0;padding:3px 10px}
table.stack td::before{content:attr(data-label);font-weight:600;text-align:left;color:#3b4150}
table.stack td:first-child{font-weight:700;background:#f3f4f7}
}
"""

DEFINITIONS = (
    ("People in view (OTS)", "Opportunities to see: each tracked face counts once, however "
     "long it stayed. Per window: faces present in that window."),
    ("Watchers", "People whose looks at the target add up to the watcher minimum "
     "(analytics.watcher_min_s); conversion = watchers / people in view."),
    ("Attention", "Time spent looking at the target (looks of at least analytics.min_glance_s)."
     " Attraction = attention / time in view."),
    ("Glances", "Separate looks at the target."),
    ("Smiling (proxy)", "People whose mouth shape read as a smile at least once: an estimate "
     "from the face's landmarks, not an emotion measurement."),
    ("Time in view, dwell", "From a face's first to its last sighting. The histogram counts "
     "visits by their whole length in the window where they ended; a visit still going when "
     "the video ended counts as ended there."),
    ("Zones", "Visits = times someone entered the zone (a person can visit twice); time spent "
     "= person-seconds in the zone; watchers = the most in any one window (a person watching "
     "across two windows counts in both, so windows are not added up)."),
)


def page(report: Report) -> str:
    sources = ", ".join(report.sources) or "no source"
    body = _body(report) if report.anyone else _no_one(report)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Audience report: {escape(sources)}</title><style>{CSS}</style></head>"
            f"<body><main>{_header(report, sources)}{body}{_definitions()}{_footer(report)}"
            "</main></body></html>\n")


def _body(report: Report) -> str:
    return "".join((_headline(report), _over_time(report), _dwell(report), _heatmaps(report),
                    _zones(report), _crossings(report)))


def clock(seconds: float) -> str:
    """A time into the input: 4:05, 1:02:03, 0:04.2."""
    whole = int(seconds)
    tenths = round((seconds - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    h, rest = divmod(whole, 3600)
    text = f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"
    return text + (f".{tenths}" if tenths else "")


def count(value: float | None) -> str:
    return NONE if value is None or not math.isfinite(value) else f"{round(value):,}"


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return NONE
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60) if seconds >= 3600 else None
    if minutes is None:
        whole, rest = divmod(round(seconds), 60)
        return f"{whole} min {rest:02d} s" if rest else f"{whole} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def share(part: float | None, whole: float | None) -> str:
    if part is None or not whole or not math.isfinite(part / whole):
        return NONE
    return f"{100 * part / whole:.0f} %"


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    value = part / whole
    return value if math.isfinite(value) else None


def _header(report: Report, sources: str) -> str:
    span = NONE
    if report.span is not None:
        lo, hi = report.span
        n = len(report.windows)
        windows = f"{n} windows of {duration(report.window_s)}" if report.window_s else \
            "one window"
        span = f"{clock(lo)} – {clock(hi)} of the video ({duration(hi - lo)}, {windows})"
    return (f"<header><h1>Audience report: {escape(sources)}</h1>"
            f"<p>{escape(span)}</p></header>")


def _no_one(report: Report) -> str:
    when = "in this recording" if report.span is None else \
        f"between {clock(report.span[0])} and {clock(report.span[1])}"
    return (f'<section><p class="empty">No one was seen {escape(when)}.</p><p class="note">'
            "No face was tracked, so there is no attention, dwell or zone figure to show."
            "</p></section>")


def _card(value: str, label: str, hint: str) -> str:
    return (f'<div class="card"><div class="value">{escape(value)}</div>'
            f'<div class="label">{escape(label)}</div><div class="hint">{escape(hint)}</div>'
            "</div>")


def _headline(report: Report) -> str:
    first = report.totals[report.targets[0]]
    span = report.span[1] - report.span[0] if report.span else None
    cards = [_card(count(first.people), "People in view", "opportunities to see (OTS)"),
             _card(duration(ratio(first.dwell_s, first.people)), "Avg. time in view",
                   "per person"),
             _card(f"{ratio(first.dwell_s, span) or 0:.1f}", "People at a time",
                   "in view on average"),
             _card(count(first.smiling), "Smiling (proxy)", "people who smiled at least once")]
    parts = [f'<section><h2>At a glance</h2><div class="cards">{"".join(cards)}</div>']
    for name in report.targets:
        parts.append(f"<h3>Looking at {escape(name)}</h3>{_target_cards(report.totals[name])}")
    if not report.from_tracks and len(report.windows) > 1:
        parts.append('<p class="note">tracks.csv is missing: watchers and smiling cannot be '
                     "counted across windows.</p>")
    return "".join(parts) + "</section>"


def _target_cards(t: Totals) -> str:
    cards = (_card(count(t.watchers), "Watchers", "looked long enough to count"),
             _card(share(t.watchers, t.people), "Conversion", "of people in view watched"),
             _card(duration(ratio(t.attention_s, t.people)), "Avg. attention",
                   "looking time per person in view"),
             _card(share(t.attention_s, t.dwell_s), "Attraction",
                   "of time in view spent looking"),
             _card(count(t.glances), "Glances", "separate looks"))
    return f'<div class="cards">{"".join(cards)}</div>'


def _over_time(report: Report) -> str:
    labels = [clock(lo) for lo, _ in report.windows]
    people = [Series("people in view", OTS_COLOUR, report.ots)]
    people += [Series(f"watchers of {n}", target_colour(i), report.watchers[n])
               for i, n in enumerate(report.targets)]
    looks = [Series(f"looking at {n}", target_colour(i), report.attention[n])
             for i, n in enumerate(report.targets)]
    if report.window_s:
        mark = "bar" if len(labels) <= MAX_BARS else "point"
        note = (f"One {mark} per window of {duration(report.window_s)}, labelled with its "
                "start; the last window may be shorter.")
    else:
        note = "The whole video is one window: a longer video or a shorter analytics.window_s "\
               "gives a time series."
    charts = (chart("People in view and watchers", labels, people, "", integer=True)
              + chart("Seconds spent looking", labels, looks, " s"))
    return (f'<section><h2>Over time</h2><p class="note">{escape(note)}</p>'
            f'<div class="charts">{charts}</div></section>')


def _dwell(report: Report) -> str:
    visits = Series("visits", OTS_COLOUR, report.dwell)
    svg = chart("Visits by length", DWELL_LABELS, [visits], "", show_every_label=True,
                integer=True)
    return ("<section><h2>How long people stayed</h2>"
            f'<div class="charts">{svg}'
            f'<p class="note">{escape(_commonest(report.dwell))}Each visit of the view '
            "counted once, by its whole length from first to last sighting.</p></div>"
            "</section>")


def _commonest(buckets: list[float]) -> str:
    total = sum(buckets)
    if total <= 0:
        return "No visit ended in the video. "
    k = max(range(len(buckets)), key=lambda i: buckets[i])
    return f"Most visits lasted {DWELL_LABELS[k]} ({count(buckets[k])} of {count(total)}). "


def _image(h: Heatmap, alt: str) -> str:
    if h.data_uri is None:
        return f'<p class="note">{escape(h.file)} is missing or unreadable.</p>'
    return f'<img src="{h.data_uri}" alt="{escape(alt)}">'


def _heatmaps(report: Report) -> str:
    occupancy, *targets = report.heatmaps
    parts = ["<section><h2>Where people were</h2>",
             f"<figure>{_image(occupancy, 'where faces were, over the scene')}"
             "<small>Red: where faces were most of the time, over the empty scene (faces "
             "blurred out).</small></figure>"]
    if targets:
        parts.append('<h3>Where looks landed</h3><div class="heats">')
        for h in targets:
            parts.append(f"<figure><figcaption>{escape(h.name)}</figcaption>"
                         f"{_image(h, f'where looks at {h.name} landed')}</figure>")
        parts.append('</div><p class="note">A camera or rectangle target is drawn as the '
                     "wall it is on, seen from the audience (the black dot is the camera); an "
                     "image region over the scene.</p>")
    return "".join(parts) + "</section>"


def _zones(report: Report) -> str:
    several = len(report.windows) > 1
    head = ["Zone", "Visits", "Time spent", "People at a time"]
    for n in report.targets:
        head += [f"Looking at {n}", f"Attraction to {n}",
                 f"Watchers of {n}" + (" (busiest window)" if several else "")]
    span = report.span[1] - report.span[0] if report.span else None
    rows = []
    for z in report.zones:
        cells = ["whole view" if z.zone == ALL else z.zone, count(z.visits), duration(z.time_s),
                 f"{ratio(z.time_s, span) or 0:.1f}"]
        for n in report.targets:
            cells += [duration(z.attention_s[n]), share(z.attention_s[n], z.time_s),
                      count(z.watchers_peak[n])]
        rows.append("<tr>" + "".join(f'<td data-label="{escape(h)}">{escape(c)}</td>'
                                     for h, c in zip(head, cells, strict=True)) + "</tr>")
    return _table("Zones", head, rows, "Summed over the whole video; time spent is "
                  "person-seconds (two people for 10 s = 20 s).")


def _crossings(report: Report) -> str:
    if not report.crossings:
        return ""
    head = ["Line", "In", "Out", "Total"]
    rows = ["<tr>" + "".join(f'<td data-label="{escape(h)}">{escape(c)}</td>' for h, c in zip(
        head, (line, count(i), count(o), count(i + o)), strict=True)) + "</tr>"
        for line, (i, o) in report.crossings.items()]
    return _table("Line crossings", head, rows, "In: crossing the line from its left to its "
                  "right, going from its first point to its second.")


def _table(title: str, head: list[str], rows: list[str], note: str) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (f"<section><h2>{escape(title)}</h2><table class=\"stack\"><thead><tr>{th}</tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table><p class=\"note\">{escape(note)}"
            "</p></section>")


def _definitions() -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in DEFINITIONS)
    return (f"<section><details><summary>How these figures are counted</summary><dl>{items}"
            "</dl></details></section>")


def _footer(report: Report) -> str:
    models = ", ".join(m for m in report.models if m) or "unknown"
    configs = ", ".join(c for c in report.configs if c) or "unknown"
    text = f"Made by {models}; settings {configs}."
    if len(report.models) > 1 or len(report.configs) > 1:
        text += (" Rows of audience.csv come from different models or settings: their "
                 "figures may not be comparable.")
    return f"<footer>{escape(text)}</footer>"
