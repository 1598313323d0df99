"""URL paths of Jenkins items, builds and queue items (jenkins-remote-api.md §0.1).

Every function returns a path *relative to the Jenkins root URL* (no leading '/'), so it can be
handed to `JenkinsClient.get/post/delete`. Folder paths use '/' between segments: `team/app` is the
job `app` inside the folder `team`, reached at `job/team/job/app/`. Each segment is URL-quoted on
its own (a space becomes `%20`, `#` becomes `%23`), so a segment can never break out of its place.
Jenkins item names cannot contain '/' (checkGoodName), so '/' is always a folder separator.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from jenkins_kit.errors import InvalidValue


def split_name(full_name: str) -> list[str]:
    """`'team/app'` -> `['team', 'app']`; refuses empty segments (`a//b`, `/a`, `a/`)."""
    if not isinstance(full_name, str) or not full_name:
        raise InvalidValue("job", str(full_name), "a job name cannot be empty", "give a name such as 'app' or 'team/app'")
    segments = full_name.split("/")
    if any(not s or not s.strip() for s in segments):
        raise InvalidValue(
            "job", full_name, "a job path has an empty segment", "write folder paths as 'folder/sub/job', without leading, trailing or doubled '/'"
        )
    if any(s in (".", "..") for s in segments):
        raise InvalidValue("job", full_name, "'.' and '..' are not Jenkins item names", "name the folders explicitly")
    return segments


def quote_segment(segment: str) -> str:
    """Quote one item name for use as a URL path segment (every reserved character escaped)."""
    return quote(segment, safe="")


def job_url_path(full_name: str) -> str:
    """`'team/app'` -> `'job/team/job/app/'` (trailing '/', each segment quoted)."""
    return "".join(f"job/{quote_segment(s)}/" for s in split_name(full_name))


def parent_url_path(full_name: str) -> str:
    """The item group holding `full_name`: `''` (root) for `'app'`, `'job/team/'` for `'team/app'`."""
    segments = split_name(full_name)
    return "".join(f"job/{quote_segment(s)}/" for s in segments[:-1])


def leaf_name(full_name: str) -> str:
    """`'team/app'` -> `'app'`."""
    return split_name(full_name)[-1]


def build_url_path(full_name: str, number: int | str) -> str:
    """`('team/app', 12)` -> `'job/team/job/app/12/'`. `number` may be a permalink like `lastBuild`."""
    return f"{job_url_path(full_name)}{quote_segment(str(number))}/"


def queue_item_path(queue_id: int | str) -> str:
    """`25` -> `'queue/item/25/'` (Jenkins' own relative queue `url`)."""
    return f"queue/item/{int(queue_id)}/"


def queue_id_from_location(location: str) -> int:
    """The queue id from a build trigger's `Location` (`http://j/queue/item/25/` -> 25)."""
    path = urlsplit(location).path.rstrip("/")
    parts = path.split("/")
    if len(parts) < 3 or parts[-2] != "item" or parts[-3] != "queue" or not parts[-1].isdigit():
        raise ValueError(f"not a queue item location: {location!r}")
    return int(parts[-1])


def name_from_job_path(path: str) -> str:
    """Inverse of `job_url_path` for the job part of a path: `'job/a/job/b%20c/12/'` -> `'a/b c'`."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    names: list[str] = []
    i = 0
    while i + 1 < len(parts) and parts[i] == "job":
        names.append(unquote(parts[i + 1]))
        i += 2
    return "/".join(names)
