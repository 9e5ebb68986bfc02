"""The app's stylesheet, parsed once per process for each theme.

Textual re-reads every rule of every screen whenever the app shows a screen of a kind it
has not shown before (``App.refresh_css`` on a new mode or screen: ``set_variables``
empties the stylesheet's own parse cache, and ``reparse`` starts from a fresh Stylesheet):
each first visit to a section parsed all of the app's CSS again. Parsed rules depend only
on the CSS text, where it was read from, its place and scope, and the theme's variables,
so here they are kept per process under exactly those, and each is parsed once: a visit
re-applies the rules as before, it no longer re-parses them. A theme change (other
variables) parses afresh, as before."""

from __future__ import annotations

from textual.cache import LRUCache
from textual.css.model import RuleSet
from textual.css.stylesheet import CSSLocation, Stylesheet

# (css, read_from, is_default_rules, tie_breaker, scope, variables) -> the parsed rules
_PARSED: LRUCache[tuple[object, ...], list[RuleSet]] = LRUCache(2048)


class SharedStylesheet(Stylesheet):
    """A Textual Stylesheet whose parsed rules are shared by every stylesheet of the
    process (the rules are read-only once parsed: Textual already hands the same rule
    objects to each re-parse from its own cache)."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._variables_key = frozenset(self._variables.items())

    def set_variables(self, variables: dict[str, str]) -> None:
        super().set_variables(variables)
        self._variables_key = frozenset(variables.items())

    def _parse_rules(
        self,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, self._variables_key)
        rules = _PARSED.get(key)
        if rules is None:
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            _PARSED[key] = rules
        return rules

    def reparse(self) -> None:
        """Textual's ``Stylesheet.reparse`` (textual 8.2), parsing through this class."""
        stylesheet = SharedStylesheet(variables=self._variables)
        for read_from, (css, is_defaults, tie_breaker, scope) in self.source.items():
            stylesheet.add_source(
                css,
                read_from=read_from,
                is_default_css=is_defaults,
                tie_breaker=tie_breaker,
                scope=scope,
            )
        try:
            stylesheet.parse()
        except Exception:
            self._invalid_css.update(stylesheet._invalid_css)
            raise
        else:
            self._rules = stylesheet.rules
            self._rules_map = None
            self.source = stylesheet.source
            self._require_parse = False
