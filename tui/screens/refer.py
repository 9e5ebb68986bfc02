"""Refer: consent (cannot be skipped), needs and reason, review, send. Sending records the
consent and the referral, then sends it to the chosen partner by its route (NHS MESH, or
the encrypted file in the outbox folder).

Minimum necessary sharing: only the need the service was found for starts ticked (none
when the service was not found for a need), every tick reads ``[x]`` or ``[ ]`` (never
colour alone), and the review lists in words exactly what the partner will receive:
the Bundle the send would build, read back (``linkwork.actions.sharing.preview``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import (
    Checkbox,
    ContentSwitcher,
    Input,
    RadioSet,
    Select,
)

from linkwork.errors import plain_error
from tui.screens.base import SubScreen
from tui.widgets.plain import Static, plain
from tui.widgets.toggles import Choice, Tick

if TYPE_CHECKING:
    from tui.state import PersonRef

STEPS = ["consent", "details", "review"]
CODE = re.compile(r"\b(Z\d{2}(?:\.\d{1,2})?)\b")


def found_for(why: list[str], domains: list[str], need_filter: str | None) -> tuple[str, ...]:
    """What a service was found for, from its search result: the need filter (a domain)
    when one was set, else the need domains the search words meant that the service
    serves ("need housing") and the codes the catalogue read them as ("catalogue: Z60.2
    Living alone"). The wizard ticks only the person's needs with one of these domains
    or codes."""
    if need_filter:
        return (need_filter,)
    out: list[str] = []
    for line in why:
        if line.startswith("catalogue:"):
            out += [c for c in CODE.findall(line) if c not in out]
            continue
        for part in line.split(", "):
            words = part.split("-> ")[-1].strip()
            if words.startswith("need "):
                domain = words.removeprefix("need ").strip()
                if domain in domains and domain not in out:
                    out.append(domain)
    return tuple(out)


class NeedList(VerticalScroll, can_focus=False):
    """The needs to tick: Tab goes from one tick to the next, then on to the reason."""

    DEFAULT_CSS = "NeedList { height: auto; max-height: 12; }"


class Box(Tick):
    """A tick that reads ``[x]`` or ``[ ]`` in any colours (as every Tick now does)."""


class ReferScreen(SubScreen):
    TITLE_TEXT = "Refer"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next step"),
        Binding("ctrl+b", "previous", "Previous step"),
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "back", "Cancel"),
    ]

    def __init__(
        self,
        person: PersonRef,
        *,
        service_id: Any = None,
        service_name: str = "",
        found_for: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__()
        self.person = person
        self.service_id = service_id
        self.service_name = service_name
        # The need domains the service was found for (the search's need filter, or the
        # needs its words meant): only the person's needs in these start ticked.
        self.found_for = tuple(found_for)
        self.step = 0
        self.needs: list[dict[str, Any]] = []
        self.sent = False
        self.preview: dict[str, Any] | None = None
        self.preview_error = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_frame_top()
        with Vertical(id="body"):
            yield Static("", id="refer-title", classes="section-title")
            yield Static("", id="refer-steps", classes="status")
            with ContentSwitcher(initial="consent", id="refer-switcher"):
                with Vertical(id="consent"):
                    yield Static(
                        f"Ask {self.person.name}: may we send your details to this service "
                        "so they can contact you? Explain what is shared. They can say no, "
                        "and can change their mind later.",
                        classes="help",
                    )
                    yield Box(
                        "Share my needs (what the referral is for)", value=True, id="share-needs"
                    )
                    yield Box("Share my contact details", value=True, id="share-contact")
                    yield Box("Share my equality answers", value=False, id="share-equality")
                    yield Static("How was consent given?", classes="section-title")
                    with RadioSet(id="consent-method"):
                        yield Choice("Verbally (in person or by phone)", value=True, name="verbal")
                        yield Choice("In writing", name="written")
                    yield Box(
                        f"{self.person.name} agrees to this referral (required)", id="consent-given"
                    )
                with Vertical(id="details"):
                    yield Static(
                        "Which needs is this referral for? Tick only what this service needs "
                        "to know (Space ticks, Tab moves).",
                        classes="section-title",
                    )
                    yield NeedList(id="refer-needs")
                    yield Static("", id="refer-needs-summary", classes="status")
                    yield Static("Reason, in your words", classes="section-title")
                    yield Input(
                        placeholder="e.g. behind on rent, wants debt advice", id="refer-reason"
                    )
                with VerticalScroll(id="review"):
                    yield Static("Send to (a trusted partner):", classes="section-title")
                    yield Select[str]([], prompt="No partner key trusted yet", id="refer-partner")
                    yield Static("", id="refer-review")
        yield from self.compose_frame_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#refer-title", Static).update(
            f"Refer {self.person.name} to {self.service_name or 'a service'}"
        )
        if self.service_id is None:
            self.notify(
                "Choose the service first: F4 Find a service, then Ctrl+R.", severity="warning"
            )
        self._show_step()
        self.load_needs()

    @work(thread=True, exit_on_error=False, group="refer-needs")
    def load_needs(self) -> None:
        try:
            needs = self.actions.needs.active_needs(self.workspace, self.person.id)
        except Exception as exc:
            self.fail(exc)
            needs = []
        self.app.call_from_thread(self._needs, needs)
        try:
            partners = self.actions.exchange.partners(self.workspace)
        except Exception:
            partners = []
        self.app.call_from_thread(self._partners, partners)

    def _partners(self, partners: list[str]) -> None:
        select = self.query_one("#refer-partner", Select)
        select.set_options([(plain(name), name) for name in partners])
        if len(partners) == 1:
            select.value = partners[0]

    def partner(self) -> str | None:
        value = self.query_one("#refer-partner", Select).value
        return value if isinstance(value, str) else None

    def _needs(self, needs: list[dict[str, Any]]) -> None:
        self.needs = needs
        box = self.query_one("#refer-needs", NeedList)
        box.remove_children()
        ticks = []
        for i, n in enumerate(needs):
            words = f" ({n['words']})" if n.get("words") else ""
            ticks.append(
                Box(
                    f"{n['code']}  {n['display']}{words}",
                    value=bool({n.get("domain"), n.get("code")} & set(self.found_for)),
                    id=f"need-{i}",
                )
            )
        if ticks:
            box.mount_all(ticks)
        else:
            box.mount(
                Static(
                    "No active needs recorded: record a need first (S screens them).",
                    classes="help",
                )
            )
        self._needs_summary()

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        if (event.checkbox.id or "").startswith("need-"):
            self._needs_summary()

    def _needs_summary(self) -> None:
        chosen = set(self.chosen_needs())
        codes = [n["code"] for n in self.needs if n["id"] in chosen]
        text = (
            f"Ticked {len(codes)} of {len(self.needs)}: {', '.join(codes)}. "
            "The others stay with the practice."
            if codes
            else f"Ticked 0 of {len(self.needs)}: tick at least one need to refer."
        )
        self.query_one("#refer-needs-summary", Static).update(text)

    def _show_step(self) -> None:
        names = ["1 Consent", "2 Needs and reason", "3 Review and send"]
        marked = [f"[{n}]" if i == self.step else n for i, n in enumerate(names)]
        self.query_one("#refer-steps", Static).update(
            "  >  ".join(marked) + "    (Ctrl+N next, Ctrl+B back, Ctrl+S send on review)"
        )
        self.query_one("#refer-switcher", ContentSwitcher).current = STEPS[self.step]
        if self.step == 2:
            self.query_one("#refer-review", Static).update(self.review_text())
            self.load_preview()
        first = {0: "#share-needs", 1: "#need-0", 2: "#refer-partner"}[self.step]
        found = self.query(first)
        (found.first() if found else self.query_one("#refer-reason")).focus()

    def shares(self) -> list[str]:
        out = []
        for key in ("needs", "contact", "equality"):
            if self.query_one(f"#share-{key}", Checkbox).value:
                out.append(key)
        return out

    def method(self) -> str:
        pressed = self.query_one("#consent-method", RadioSet).pressed_button
        return str(pressed.name) if pressed is not None else "verbal"

    def consent_given(self) -> bool:
        return self.query_one("#consent-given", Checkbox).value

    def chosen_needs(self) -> list[str]:
        return [
            n["id"]
            for i, n in enumerate(self.needs)
            if any(box.value for box in self.query(f"#need-{i}").results(Checkbox))
        ]

    def reason(self) -> str:
        return self.query_one("#refer-reason", Input).value.strip()

    def review_text(self) -> str:
        """The review in words: who, where, consent, then exactly what the partner will
        receive (from the preview) and what stays with the practice."""
        chosen = set(self.chosen_needs())
        lines = [
            f"Person:   {self.person.name} {self.person.detail}",
            f"Service:  {self.service_name or 'NOT CHOSEN (F4 Find a service, Ctrl+R)'}",
            f"Consent:  {'GIVEN' if self.consent_given() else 'NOT GIVEN'} ({self.method()}); "
            f"agreed to share: {', '.join(self.shares()) or 'nothing'}",
            f"Reason:   {self.reason() or '(none)'}",
            "",
        ]
        partner = self.partner()
        preview = self.preview
        if not chosen:
            lines.append("Nothing to send: no need is ticked (Ctrl+B to go back and tick one).")
        elif partner is None:
            lines.append(
                "Not sent to anyone: no partner chosen. Ctrl+S records the referral only "
                "(trust a partner's key first to send it: Ctrl+P, Keys and partners)."
            )
        elif self.preview_error:
            lines.append(f"! Cannot show what would be shared: {self.preview_error}")
        elif preview is None or preview.get("to") != partner:
            lines.append(f"Working out what {partner} would receive...")
        else:
            lines.append(f"{partner} will receive, {preview['route']}:")
            lines += [f"  {line}" for line in preview["lines"]]
            left = preview["left_out"]
            if left:
                lines.append("Not shared (stays with the practice):")
                lines += [f"  [ ] {n['code']} {n['display']}" for n in left]
        lines += [
            "",
            "Ctrl+S sends: records the consent and the referral, then sends exactly this.",
        ]
        return "\n".join(lines)

    @work(thread=True, exit_on_error=False, exclusive=True, group="refer-preview")
    def load_preview(self) -> None:
        partner = self.partner()
        needs = self.chosen_needs()
        if partner is None or not needs or self.service_id is None:
            return
        try:
            found = self.actions.sharing.preview(
                self.workspace,
                self.person.id,
                needs,
                service=int(self.service_id),
                shares=self.shares(),
                reason=self.reason(),
                to=partner,
            )
            error = ""
        except Exception as exc:
            found, error = None, plain_error(exc)
        self.app.call_from_thread(self._previewed, found, error)

    def _previewed(self, found: dict[str, Any] | None, error: str) -> None:
        self.preview, self.preview_error = found, error
        if self.step == 2:
            self.query_one("#refer-review", Static).update(self.review_text())

    @on(Select.Changed, "#refer-partner")
    def _partner_changed(self) -> None:
        if self.step == 2:
            self.query_one("#refer-review", Static).update(self.review_text())
            self.load_preview()

    def action_next(self) -> None:
        if self.step == 0 and not self.consent_given():
            self.notify(
                f"Consent is needed before referring: tick '{self.person.name} agrees' "
                "only if they said yes.",
                severity="warning",
            )
            self.query_one("#consent-given").focus()
            return
        if self.step == 1 and not self.chosen_needs():
            self.notify("Tick at least one need this referral is for.", severity="warning")
            return
        if self.step < 2:
            self.step += 1
            self._show_step()

    def action_previous(self) -> None:
        if self.step > 0:
            self.step -= 1
            self._show_step()

    def action_send(self) -> None:
        if self.sent:
            return
        if self.step != 2:
            self.notify("Go through each step first (Ctrl+N).", severity="warning")
            return
        if not self.consent_given():
            self.notify("Consent is needed before referring.", severity="warning")
            return
        if self.service_id is None:
            self.notify(
                "Choose the service first: F4 Find a service, then Ctrl+R.", severity="warning"
            )
            return
        partner = self.partner()
        if partner is not None and (self.preview is None or self.preview.get("to") != partner):
            self.notify(
                "Wait for the review to show what will be shared, then Ctrl+S.",
                severity="warning",
            )
            return
        self.send(
            self.chosen_needs(),
            self.reason(),
            self.shares(),
            self.method(),
            self.partner(),
        )

    @work(thread=True, exit_on_error=False, exclusive=True, group="send")
    def send(
        self,
        need_ids: list[str],
        reason: str,
        shares: list[str],
        method: str,
        partner: str | None,
    ) -> None:
        if partner is not None and self._key_locked():
            # Ask for the key's passphrase first (once per session); Escape sends nothing.
            again = (need_ids, reason, shares, method, partner)
            self.app.call_from_thread(self._unlock_then_send, again)
            return
        self.app.call_from_thread(self.notify, "Sending...")
        try:
            result = self.actions.referrals.refer(
                self.workspace,
                self.person.id,
                need_ids,
                service=int(self.service_id),
                reason=reason,
                consent=(shares, method),
                send_to=partner,
            )
        except Exception as exc:
            self.app.call_from_thread(self.notify, plain_error(exc), severity="error")
            return
        self.sent = True
        self.app.call_from_thread(self._sent, result["message"])

    def _key_locked(self) -> bool:
        try:
            return bool(self.actions.exchange.key_locked(self.workspace))
        except OSError:
            return False  # the send step reports an unreadable key in words

    def _unlock_then_send(self, args: tuple[Any, ...]) -> None:
        from tui.screens.passphrase import unlock_then

        unlock_then(
            self,
            "sign and send this referral",
            lambda: self.send(*args),
            "Nothing sent: the private key is still locked.",
        )

    def _sent(self, message: str) -> None:
        self.notify(message, timeout=8)
        self.dismiss(None)
        self.lw.open_person(self.person)

    @on(Input.Submitted, "#refer-reason")
    def _reason_done(self) -> None:
        self.action_next()
