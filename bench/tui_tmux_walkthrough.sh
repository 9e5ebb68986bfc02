#!/usr/bin/env bash
# The link worker's whole day in a real terminal, by keyboard only: tmux send-keys in,
# tmux capture-pane out. Starts from the README's first command on a fresh machine (a
# clean clone, a new venv, a fresh LINKWORK_HOME), then: add a person, screen them,
# confirm a need, code a need by lay words, find a service by a lay phrase with a typo,
# refer with consent (the encrypted file lands in the outbox), see it on the timeline,
# update its status, the hub replies, import the reply from the inbox, counts.
# Each step's screen is saved as text in bench/out/walk-NN-step.txt.
#
#   bash bench/tui_tmux_walkthrough.sh            # README command in a clean clone
#   bash bench/tui_tmux_walkthrough.sh --reuse    # use this checkout's .venv (quicker)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
mkdir -p "$OUT"
rm -f "$OUT"/walk-*.txt
WORK=$(mktemp -d /tmp/linkwork-walk.XXXXXX)
S=lwwalk$$
W=110; H=34
cleanup() { tmux kill-session -t "$S" 2>/dev/null || true; }
trap cleanup EXIT

export LINKWORK_HOME=$WORK/home LINKWORK_CONFIG=$WORK/no-config.toml LINKWORK_USER=sam.linkworker
# The database is encrypted: the app asks for a new passphrase on its first screen; the
# commands typed in the shells read it from LINKWORK_DB_PASSPHRASE.
PASSPHRASE="walkthrough passphrase"
HUB_HOME=$WORK/hub
n=0
snap() {  # snap NAME: save the screen as text
  n=$((n + 1))
  local file
  file=$(printf '%s/walk-%02d-%s.txt' "$OUT" "$n" "$1")
  tmux capture-pane -p -t "$S" >"$file"
  echo "== step $n: $1 -> ${file#"$ROOT"/}"
}
key() { for k in "$@"; do tmux send-keys -t "$S" "$k"; sleep 0.6; done; }
typ() { tmux send-keys -t "$S" -l "$1"; sleep 0.9; }
wait_for() {  # wait_for TEXT [SECONDS]
  local i
  for ((i = 0; i < ${2:-30} * 5; i++)); do
    if tmux capture-pane -p -t "$S" | grep -qF -- "$1"; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for: $1" >&2
  tmux capture-pane -p -t "$S" >&2
  return 1
}
shell() {  # run a command line in the tmux shell (typed) and wait for it to finish
  tmux send-keys -t "$S" -l "$1; echo DONE-\$?"
  tmux send-keys -t "$S" Enter
  wait_for "DONE-0" "${2:-60}"
  tmux send-keys -t "$S" -l "clear"; tmux send-keys -t "$S" Enter; sleep 0.3
}

tmux new-session -d -s "$S" -x $W -y $H -e LINKWORK_HOME="$LINKWORK_HOME" \
  -e LINKWORK_CONFIG="$LINKWORK_CONFIG" -e LINKWORK_USER="$LINKWORK_USER" \
  -e LINKWORK_DB_PASSPHRASE="$PASSPHRASE" "bash --norc --noprofile"
tmux send-keys -t "$S" -l "export PS1='$ '"; tmux send-keys -t "$S" Enter

if [ "${1:-}" = "--reuse" ]; then
  tmux send-keys -t "$S" -l "cd $ROOT"; tmux send-keys -t "$S" Enter
  FIRST=".venv/bin/linkwork"
else
  git clone -q "$ROOT" "$WORK/clone"
  tmux send-keys -t "$S" -l "cd $WORK/clone"; tmux send-keys -t "$S" Enter
  # The README's first command, as written (install step waits up to 10 minutes).
  shell "python3 -m venv .venv && .venv/bin/pip install -q -e ." 600
  FIRST="python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/linkwork"
fi
LW=.venv/bin/linkwork
# Keys (once per practice): ours, and the hub's public key trusted as "Wellbeing Hub".
shell "$LW keys new practice >/dev/null && $LW keys new hub --out $WORK/hubkeys >/dev/null && $LW keys trust $WORK/hubkeys/hub.public.jwk --name 'Wellbeing Hub' >/dev/null"

# 1. The README's first command: the app opens on the bundled sample directory.
tmux send-keys -t "$S" -l "$FIRST"; sleep 0.5; snap readme-first-command
tmux send-keys -t "$S" Enter
wait_for "passphrase" 120  # the database's passphrase: chosen (typed twice) or typed once
typ "$PASSPHRASE"; key Enter
if tmux capture-pane -p -t "$S" | grep -qF "Choose a passphrase"; then
  typ "$PASSPHRASE"; key Enter
fi
wait_for "Directory: 400 services" 120
sleep 1; snap home-sample-loaded

# 2. Add a person (inline checks), saved and opened.
key F2; wait_for "Name, NHS number or postcode"; key C-n; wait_for "About the person"
typ "Robin"; key Tab; typ "Ashworth"; key Tab; typ "03/07/1961"; key Tab; typ "943 476 5918"
sleep 0.5; snap add-person-bad-nhs-number
key BSpace; typ "9"; key Tab; typ "ZZ1 1AA"; sleep 0.5; snap add-person-filled
key C-s; wait_for "Timeline"; sleep 0.5; snap person-record

# 3. Screen: housing section by keyboard (sofa surfing), then on through the sections.
key s; wait_for "Section 1 of"; key Down Down Enter; sleep 0.3; snap screening-section-1
for _ in $(seq 1 30); do
  if tmux capture-pane -p -t "$S" | grep -qF "Suggested needs"; then break; fi
  key C-n
done
wait_for "Suggested needs"; sleep 0.5; snap screening-suggestions
key y; wait_for "CONFIRMED"; snap screening-confirmed
key Escape; wait_for "Z59.0"; snap person-with-need

# 4. Code a need from lay words (typo), recorded for the person.
key F3; typ "cant aford food"; wait_for "Z59.4"; snap code-a-need
key Enter; sleep 1; key Enter; wait_for "Recorded need"; snap code-recorded

# 5. Find a service by a lay phrase with a typo; the detail pane.
key F4; wait_for "Directory ready"; typ "homeles shelter"; wait_for "services. Up/Down"
wait_for "Last verified"; snap find-a-service
# Near the person's postcode: a half-typed one gives a quiet hint, a full one distances.
key Tab Tab; typ "ZZ1"; sleep 0.5; snap find-near-half-typed
typ " 1AA"; wait_for " mi"; key C-o; sleep 1; snap find-near-nearest-first
key C-f; sleep 0.5

# 6. Refer: consent cannot be skipped; then needs and reason; review; send.
key C-r; wait_for "1 Consent"; key C-n; sleep 0.5; snap refer-consent-required
key space; key C-n; wait_for "Which needs"
key Tab; typ "Sofa surfing since March, needs somewhere safe"; wait_for "needs somewhere safe"; key Enter
wait_for "Ctrl+S sends"; snap refer-review
key C-s; wait_for "REQUESTED" 30; sleep 0.5; snap referral-on-timeline
ls "$LINKWORK_HOME/outbox" | tee "$OUT/walk-outbox.txt"

# 7. Referrals board: update the status (accepted) with the keyboard.
key F5; wait_for "REQUESTED"; snap referrals-board
key u; wait_for "New status"; key Enter Down Enter; key C-s; wait_for "ACCEPTED"; snap status-accepted

# 8. The hub (another database) receives the file, completes it and replies; the
#    practice imports the reply from its inbox folder.
tmux new-window -t "$S" -e LINKWORK_HOME="$HUB_HOME" -e LINKWORK_CONFIG="$LINKWORK_CONFIG" \
  -e LINKWORK_USER=hub.worker -e LINKWORK_DB_PASSPHRASE="$PASSPHRASE" "bash --norc --noprofile"
HUBW="$S:1"
hub() { tmux send-keys -t "$HUBW" -l "$1; echo HUBDONE-\$?"; tmux send-keys -t "$HUBW" Enter; }
hubwait() { local i; for ((i = 0; i < 300; i++)); do tmux capture-pane -p -t "$HUBW" | grep -q "HUBDONE-$1" && return 0; sleep 0.2; done; tmux capture-pane -p -t "$HUBW" >&2; return 1; }
cd_cmd="cd $(tmux display-message -p -t "$S:0" '#{pane_current_path}')"
hub "$cd_cmd && $LW keys trust $LINKWORK_HOME/keys_dir/practice.public.jwk --name Practice >/dev/null"; hubwait 0
tmux send-keys -t "$HUBW" -l "clear"; tmux send-keys -t "$HUBW" Enter
RID=$(ls "$LINKWORK_HOME/outbox" | head -1 | sed -E 's/referral-([0-9a-f]{8}).*/\1/')
hub "$LW referral receive $LINKWORK_HOME/outbox/referral-*.jwe --key $WORK/hubkeys/hub.private.jwk && $LW referral status $RID accepted && $LW referral status $RID in-progress && $LW referral status $RID completed --note 'Housed in supported accommodation' && mkdir -p $LINKWORK_HOME/inbox && $LW referral update-export $RID --to Practice --key $WORK/hubkeys/hub.private.jwk --out $LINKWORK_HOME/inbox/update-$RID.jwe"
hubwait 0 || true
tmux capture-pane -p -t "$HUBW" >"$OUT/walk-hub-side.txt"
tmux select-window -t "$S:0"
key i; wait_for "COMPLETED" 30; sleep 0.5; snap inbox-imported-completed

# 9. The person's timeline; home; counts for the data lead; light theme.
key F2; wait_for "COMPLETED"; snap person-timeline-completed
key F1; sleep 1; snap home-after
key F6; sleep 2; snap counts
key C-t; sleep 1; snap counts-light-theme
key C-q; sleep 1
echo "Walkthrough done: $n screens in $OUT"
