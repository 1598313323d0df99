"""One validator: `config validate` and `render` both load the config *and* render it in memory.

The schema (config/schema.py) refuses every value it knows to be bad, with file:line:column. Rendering
is the last judge (a template in jobs.templates_dir may still refuse something); whatever it refuses
is reported the same way, positioned at the field it names. So `config validate` says "valid" exactly
when `render` would write the bundle.
"""

from __future__ import annotations

from pathlib import Path

from jenkins_kit.config.loader import Located, load_located
from jenkins_kit.errors import ConfigError, InvalidValue, KitError
from jenkins_kit.render.bundle import Bundle, render_bundle


def check_config(path: str | Path) -> tuple[Located, Bundle]:
    from jenkins_kit.additions import check_fragments

    located = load_located(path)
    check_fragments(located.config, Path(path).parent, str(path))  # the user's JCasC files, as load_config does
    try:
        bundle = render_bundle(located.config, base_dir=Path(path).resolve().parent)
    except InvalidValue as e:
        got = f" (got {e.value!r})" if e.value else ""
        raise ConfigError([located.problem(e.field_path, f"{e.reason}{got}", e.fix)]) from None
    except KitError as e:
        raise ConfigError([located.problem("", e.message, e.hint)]) from None
    return located, bundle
