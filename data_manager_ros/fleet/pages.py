"""The fleet's pages as HTML, from catalog rows: plain functions, so what a page says can be
tested without a server or a browser. Everything a page loads is in it (no CDN, no script):
the timeline is an SVG drawn here. Every value from the catalog came from a robot and is
escaped; every link to a robot or a bag quotes its key segment."""

from __future__ import annotations

import datetime
import html
import math
import urllib.parse
from collections.abc import Iterable

from data_manager_ros.fleet.catalog import BagState, Filters, parse_time, shown

SECOND = 1_000_000_000
TIMELINE_WIDTH = 960
TRACK_SIZE = 360
STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}.warn{color:#a40}.ok{color:#160}
nav a{margin-right:1em}svg text{font:11px sans-serif}form input{margin-right:.5em}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def iso(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.datetime.fromtimestamp(ns / SECOND, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


def seconds(ns: int) -> str:
    """Epoch seconds to the nanosecond, as the export takes them."""
    return f"{ns // SECOND}.{ns % SECOND:09d}"


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}"
            f"</title><style>{STYLE}</style></head><body><nav><a href='/'>robots</a>"
            f"<a href='/files'>files</a></nav><h1>{_e(title)}</h1>{body}</body></html>")


def state_word(state: BagState) -> str:
    """complete, pending, dropped, missing, or open: one word a table can sort by."""
    if state.expected is None:
        return "open"
    if state.missing:
        return "missing"
    if state.pending:
        return "pending"
    return "dropped" if state.dropped else "complete"


def robots_page(robots: list[tuple[str, datetime.datetime | None, int, int, int]]) -> str:
    rows = "".join(
        f"<tr><td><a href='/robots/{_q(robot)}'>{_e(shown(robot))}</a></td>"
        f"<td>{f'{last:%Y-%m-%d %H:%M:%S}' if last else '-'}</td><td>{files}</td>"
        f"<td>{size}</td><td class={'warn' if incomplete else 'ok'}>{incomplete}</td></tr>"
        for robot, last, files, size, incomplete in robots)
    return page("robots", "<table id=robots><tr><th>robot</th><th>last file arrived (UTC)"
                "</th><th>files today</th><th>bytes today</th><th>bags not complete</th>"
                f"</tr>{rows}</table>")


def _bars(files: list[dict], start: int, end: int) -> tuple[dict[str, list[int]], list[dict]]:
    """Each bag's extent within the window, and the clips."""
    bags: dict[str, list[int]] = {}
    clips = []
    for row in files:
        if row["start_ns"] is None:
            continue
        if row["kind"] == "clip":
            clips.append(row)
            continue
        extent = bags.setdefault(row["bag"] or row["key"], [row["start_ns"], row["end_ns"]])
        extent[0], extent[1] = min(extent[0], row["start_ns"]), max(extent[1], row["end_ns"])
    return {bag: [max(a, start), min(b, end)] for bag, (a, b) in bags.items()}, clips


def gaps(extents: Iterable[list[int]], start: int, end: int) -> list[tuple[int, int]]:
    """Where nothing was recorded in [start, end)."""
    out, covered = [], start
    for a, b in sorted(extents):
        if a > covered:
            out.append((covered, a))
        covered = max(covered, b)
    if covered < end:
        out.append((covered, end))
    return out


def timeline(robot: str, files: list[dict], start: int, end: int) -> str:
    """Bags as bars, clips as marks with their reasons, gaps shaded, over [start, end)."""
    def x(ns: int) -> float:
        return round((ns - start) / (end - start) * TIMELINE_WIDTH, 1)

    bars, clips = _bars(files, start, end)
    parts = [f"<rect class=gap x={x(a)} y=20 width={max(x(b) - x(a), 0.5)} height=30 "
             f"fill='#eee'><title>nothing recorded {iso(a)} .. {iso(b)}</title></rect>"
             for a, b in gaps(bars.values(), start, end)]
    for bag, (a, b) in sorted(bars.items()):
        parts.append(f"<a href='/bags/{_q(robot)}/{_q(bag)}'><rect class=bag x={x(a)} y=20 "
                     f"width={max(x(b) - x(a), 1.0)} height=30 fill='#4a7'><title>"
                     f"{_e(shown(bag))}: {iso(a)} .. {iso(b)}</title></rect></a>")
    for clip in clips:
        at, reasons = x(max(clip["start_ns"], start)), "; ".join(clip["clip_reasons"])
        parts.append(f"<a href='/bags/{_q(robot)}/{_q(clip['bag'])}'><g class=clip>"
                     f"<path d='M{at},16 l-5,-9 h10 z' fill='#c33'/><text x={at + 6} y=12>"
                     f"{_e(reasons)}</text><title>clip {iso(clip['start_ns'])}: "
                     f"{_e(reasons)}</title></g></a>")
    ticks = "".join(f"<text x={x(start + i * (end - start) // 6)} y=66>"
                    f"{iso(start + i * (end - start) // 6)[11:16]}</text>" for i in range(6))
    return (f"<svg id=timeline width={TIMELINE_WIDTH + 40} height=72 "
            f"xmlns='http://www.w3.org/2000/svg'>{''.join(parts)}{ticks}</svg>")


def window(day: datetime.date, hour: int | None) -> tuple[int, int]:
    """[start, end) in ns of a UTC day, or of one of its hours."""
    start = int(datetime.datetime(day.year, day.month, day.day, hour or 0,
                                  tzinfo=datetime.timezone.utc).timestamp()) * SECOND
    return start, start + (3600 if hour is not None else 86400) * SECOND


def robot_page(robot: str, day: datetime.date, hour: int | None, files: list[dict],
               states: list[BagState]) -> str:
    start, end = window(day, hour)
    base = f"/robots/{_q(robot)}"
    days = " ".join(f"<a href='{base}?day={d}'>{d}</a>" for d in
                    (day - datetime.timedelta(days=1), day + datetime.timedelta(days=1)))
    hours = " ".join(f"<a href='{base}?day={day}&hour={h}'>{h:02d}</a>" for h in range(24))
    shown_bags = {row["bag"] for row in files if row["bag"]}
    rows = "".join(f"<tr><td><a href='/bags/{_q(robot)}/{_q(s.bag)}'>{_e(shown(s.bag))}</a>"
                   f"</td><td class=state>{state_word(s)}</td><td>{_e(s.line().split(chr(9))[2])}"
                   "</td></tr>" for s in states if s.bag in shown_bags)
    zoom = f"{day} {hour:02d}:00-{hour:02d}:59" if hour is not None else f"{day}"
    return page(f"{shown(robot)}: {zoom} (UTC)",
                f"<p>days: {days} | hours: {hours} | <a href='{base}?day={day}'>whole day</a>"
                f"</p>{timeline(robot, files, start, end)}<table id=bags><tr><th>bag</th>"
                f"<th>state</th><th>detail</th></tr>{rows}</table>")


def _points(value: object) -> list[tuple[float, float]]:
    """A track's points that are points: a robot may send anything."""
    if not isinstance(value, list):
        return []
    return [(float(p[0]), float(p[1])) for p in value
            if isinstance(p, list) and len(p) == 2
            and all(isinstance(c, (int, float)) and math.isfinite(c) for c in p)
            and -90 <= p[0] <= 90 and -180 <= p[1] <= 180]


def track_svg(files: list[dict], size: int = TRACK_SIZE) -> str:
    """The bag's fix topics' tracks, in file order, scaled to the box (east right, north up,
    longitude shrunk by the cosine of the latitude); no map tiles, the track alone."""
    tracks: dict[str, list[tuple[float, float]]] = {}
    for row in sorted(files, key=lambda r: r["start_ns"] or 0):
        for topic, value in (row.get("track") or {}).items():
            tracks.setdefault(str(topic), []).extend(_points(value))
    everything = [p for points in tracks.values() for p in points]
    if not everything:
        return ""
    squeeze = math.cos(math.radians(sum(p[0] for p in everything) / len(everything)))
    south, north = min(p[0] for p in everything), max(p[0] for p in everything)
    west, east = min(p[1] for p in everything), max(p[1] for p in everything)
    span = max(north - south, (east - west) * squeeze, 1e-9)
    margin = 10

    def xy(point: tuple[float, float]) -> str:
        x = margin + (point[1] - west) * squeeze / span * (size - 2 * margin)
        y = size - margin - (point[0] - south) / span * (size - 2 * margin)
        return f"{x:.1f},{y:.1f}"

    lines = "".join(f"<polyline fill=none stroke='#36c' stroke-width=2 points='"
                    f"{' '.join(xy(p) for p in points)}'><title>{_e(topic)}: {len(points)} "
                    "points</title></polyline>" for topic, points in sorted(tracks.items()))
    return (f"<h2>track</h2><svg id=track width={size} height={size} "
            f"xmlns='http://www.w3.org/2000/svg'><rect width={size} height={size} "
            f"fill='#f8f8f8'/>{lines}</svg><p>{south:.6f}..{north:.6f} N, "
            f"{west:.6f}..{east:.6f} E</p>")


def bag_page(robot: str, bag: str, files: list[dict], state: BagState | None,
             viewer_links: dict[str, str] | None = None) -> str:
    """``viewer_links``: file name → a link that opens the file in Foxglove."""
    links = viewer_links or {}
    arrived = {row["key"].rsplit("/", 1)[1]: row for row in files}
    names = sorted(set(arrived) | set(state.expected or ()) | set(state.dropped)
                   if state else arrived)
    def file_state(name: str) -> str:
        if state and name in state.missing:
            return "missing"
        if name in arrived:
            return "arrived"
        return "dropped by the disk policy" if state and name in state.dropped else "pending"

    file_rows = "".join(
        f"<tr><td>{_e(shown(name))}</td><td class=state>{file_state(name)}</td>"
        f"<td>{arrived[name]['size'] if name in arrived else '-'}</td>"
        f"<td>{_e(arrived[name]['digest'][:20]) if name in arrived else '-'}</td><td>"
        + (f"<a class=viewer href='{_e(links[name])}'>open in Foxglove</a>" if name in links
           else "") + "</td></tr>" for name in names)
    counts: dict[str, int] = {}
    for row in files:
        for topic, count in row["topic_counts"].items():
            counts[topic] = counts.get(topic, 0) + int(count)
    topics = "".join(f"<tr><td>{_e(t)}</td><td>{n}</td></tr>" for t, n in sorted(counts.items()))
    types = sorted({t for row in files for t in row["types"]})
    tags = sorted({t for row in files for t in row["tags"]})
    custom = {k: v for row in files for k, v in row["custom_data"].items()}
    reasons = sorted({r for row in files for r in row["clip_reasons"]})
    times = [row[k] for row in files for k in ("start_ns", "end_ns") if row[k] is not None]
    window = (f"<form id=export action='/bags/{_q(robot)}/{_q(bag)}/export'>export from "
              f"<input name=since value='{seconds(min(times))}' title='{iso(min(times))}'> "
              f"to <input name=until value='{seconds(max(times))}' title='{iso(max(times))}'>"
              + "".join(f"<label><input type=checkbox name=topic value='{_e(t)}' checked>"
                        f"{_e(t)}</label>" for t in sorted(counts))
              + "<button>export</button></form>") if times else ""
    return page(f"{shown(robot)} / {shown(bag)}",
                f"<p id=state>{state_word(state) if state else 'open'}: "
                f"{_e(state.line().split(chr(9))[2]) if state else ''}</p>"
                f"<p><a id=download href='/bags/{_q(robot)}/{_q(bag)}/download'>download the "
                f"bag</a></p>{window}<h2>files</h2><table id=files><tr><th>file</th><th>state"
                f"</th><th>bytes</th><th>digest</th><th></th></tr>{file_rows}</table><h2>topics</h2>"
                f"<table id=topics><tr><th>topic</th><th>messages</th></tr>{topics}</table>"
                f"<p>types: {_e(', '.join(types))}</p><p>tags: {_e(', '.join(tags))}</p>"
                f"<p>clip reasons: {_e('; '.join(reasons))}</p>"
                f"<p>custom_data: {_e(', '.join(f'{k}={v}' for k, v in custom.items()))}</p>"
                f"{track_svg(files)}")


FILTERS = ("robot", "since", "until", "topic", "type", "tag", "kind", "reason", "custom")


def files_page(query: dict[str, list[str]], rows: list[dict], more: bool) -> str:
    """``data_manager_fleet list`` in a page; the filters are the URL's, so a view is shared
    by its address."""
    inputs = "".join(f"<input name={name} placeholder={name} "
                     f"value='{_e(query.get(name, [''])[0])}'>" for name in FILTERS)
    body = "".join(
        f"<tr><td><a href='/robots/{_q(r['robot'])}'>{_e(shown(r['robot']))}</a></td>"
        f"<td>{_e(r['kind'])}</td><td>{iso(r['start_ns'])}</td><td>{iso(r['end_ns'])}</td>"
        f"<td>{r['size']}</td><td>" + (f"<a href='/bags/{_q(r['robot'])}/{_q(r['bag'])}'>"
                                      f"{_e(r['key'])}</a>" if r["bag"] else _e(r["key"]))
        + f"</td><td>{_e(','.join(r['topics']))}</td><td>{_e(','.join(r['tags']))}</td></tr>"
        for r in rows)
    note = "<p class=warn>the first 1000 files only: narrow the filters</p>" if more else ""
    return page("files", f"<form id=filters>{inputs}<button>filter</button></form>{note}"
                "<table id=files><tr><th>robot</th><th>kind</th><th>start</th><th>end</th>"
                f"<th>bytes</th><th>key</th><th>topics</th><th>tags</th></tr>{body}</table>")


def filters_of(query: dict[str, list[str]]) -> Filters:
    """The URL's filters as the catalog's (times as `list` takes them); ValueError names a
    time that is none."""
    def one(name: str) -> str | None:
        return query.get(name, [""])[0] or None

    custom = tuple(tuple(text.split("=", 1)) for text in query.get("custom", []) if "=" in text)
    since, until = one("since"), one("until")
    return Filters(one("robot"), parse_time(since) if since else None,
                   parse_time(until) if until else None,
                   one("topic"), one("type"), one("tag"), one("kind"), one("reason"),
                   custom)  # type: ignore[arg-type]
