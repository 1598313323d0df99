"""Pure rendering: config → text. No I/O besides reading shipped templates."""
