"""Refer: consent (cannot be skipped), needs and reason, review, send. Sending records the
consent and the referral, then exports the signed, encrypted file to the outbox folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import (
    Checkbox,
    ContentSwitcher,
    Input,
    RadioSet,
    Select,
    SelectionList,
)

from linkwork.errors import plain_error
from tui.screens.base import SubScreen
from tui.widgets.plain import Static, plain
from tui.widgets.toggles import Choice, Tick

if TYPE_CHECKING:
    from tui.state import PersonRef

STEPS = ["consent", "details", "review"]


class ReferScreen(SubScreen):
    TITLE_TEXT = "Refer"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next step"),
        Binding("ctrl+b", "previous", "Previous step"),
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "back", "Cancel"),
    ]

    def __init__(
        self, person: PersonRef, *, service_id: Any = None, service_name: str = ""
    ) -> None:
        super().__init__()
        self.person = person
        self.service_id = service_id
        self.service_name = service_name
        self.step = 0
        self.needs: list[dict[str, Any]] = []
        self.sent = False

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
                    yield Tick(
                        "Share my needs (what the referral is for)", value=True, id="share-needs"
                    )
                    yield Tick("Share my contact details", value=True, id="share-contact")
                    yield Tick("Share my equality answers", value=False, id="share-equality")
                    yield Static("How was consent given?", classes="section-title")
                    with RadioSet(id="consent-method"):
                        yield Choice("Verbally (in person or by phone)", value=True, name="verbal")
                        yield Choice("In writing", name="written")
                    yield Tick(
                        f"{self.person.name} agrees to this referral (required)", id="consent-given"
                    )
                with Vertical(id="details"):
                    yield Static(
                        "Which needs is this referral for? (Space to tick)", classes="section-title"
                    )
                    yield SelectionList[str](id="refer-needs")
                    yield Static("Reason, in your words", classes="section-title")
                    yield Input(
                        placeholder="e.g. behind on rent, wants debt advice", id="refer-reason"
                    )
                with Vertical(id="review"):
                    yield Static("", id="refer-review")
                    yield Static("Send the encrypted file to:", classes="section-title")
                    yield Select[str]([], prompt="No partner key trusted yet", id="refer-partner")
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
        box = self.query_one("#refer-needs", SelectionList)
        box.clear_options()
        for n in needs:
            box.add_option((plain(f"{n['code']}  {n['display']}"), n["id"], True))

    def _show_step(self) -> None:
        names = ["1 Consent", "2 Needs and reason", "3 Review and send"]
        marked = [f"[{n}]" if i == self.step else n for i, n in enumerate(names)]
        self.query_one("#refer-steps", Static).update(
            "  >  ".join(marked) + "    (Ctrl+N next, Ctrl+B back, Ctrl+S send on review)"
        )
        self.query_one("#refer-switcher", ContentSwitcher).current = STEPS[self.step]
        if self.step == 2:
            self.query_one("#refer-review", Static).update(self.review_text())
        first = {0: "#share-needs", 1: "#refer-needs", 2: "#refer-partner"}[self.step]
        if first:
            self.query_one(first).focus()

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
        return list(self.query_one("#refer-needs", SelectionList).selected)

    def review_text(self) -> str:
        chosen = set(self.chosen_needs())
        needs = [f"  {n['code']} {n['display']}" for n in self.needs if n["id"] in chosen]
        return "\n".join(
            [
                f"Person:   {self.person.name} {self.person.detail}",
                f"Service:  {self.service_name or 'NOT CHOSEN (F4 Find a service, Ctrl+R)'}",
                f"Consent:  {'GIVEN' if self.consent_given() else 'NOT GIVEN'} ({self.method()}); "
                f"shares: {', '.join(self.shares()) or 'nothing'}",
                "Needs:",
                *(needs or ["  none chosen"]),
                f"Reason:   {self.query_one('#refer-reason', Input).value.strip() or '(none)'}",
                "",
                "Ctrl+S sends: records consent and the referral, and writes the encrypted "
                "file to the outbox folder.",
            ]
        )

    def action_next(self) -> None:
        if self.step == 0 and not self.consent_given():
            self.notify(
                f"Consent is needed before referring: tick '{self.person.name} agrees' "
                "only if they said yes.",
                severity="warning",
            )
            self.query_one("#consent-given").focus()
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
        self.send(
            self.chosen_needs(),
            self.query_one("#refer-reason", Input).value.strip(),
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
