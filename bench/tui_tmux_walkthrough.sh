#!/usr/bin/env bash
# The link worker's whole day in a real terminal, by keyboard only: tmux send-keys in,
# tmux capture-pane out. Starts from the README's first command on a fresh machine (a
# clean clone, a new venv, a fresh LINKWORK_HOME), then: add a person, screen them,
# confirm a need, code a need by lay words, find a service by a lay phrase with a typo,
# refer with consent (only the need the service was found for ticked; the review says
# exactly what the hub receives), sent by NHS MESH (NHS England's mesh-sandbox on a
# loopback port); the hub, in its own app in a second tmux window, syncs (F9), opens the
# referral, accepts it, completes it with the outcome; the practice syncs and sees it
# COMPLETED; keys and partners; counts.
# Each step's screen is saved as text in bench/out/walk-NN-step.txt (the hub's screens too).
# mesh-sandbox runs from this checkout's .venv (a test dependency, not linkwork's own).
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
SANDBOX_PID=""
cleanup() {
  tmux kill-session -t "$S" 2>/dev/null || true
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# NHS England's mesh-sandbox: its bundled mailboxes X26ABC1 (the practice) and X26ABC2 (the
# hub), every request's MESH authorisation checked, messages kept in files.
MESH_PORT=$("$ROOT/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/mesh-store"
AUTH_MODE=full SHARED_KEY=walk-shared-key STORE_MODE=file MAILBOXES_DATA_DIR="$WORK/mesh-store" \
  "$ROOT/.venv/bin/python" -m uvicorn mesh_sandbox.api:app --host 127.0.0.1 --port "$MESH_PORT" \
  --log-level warning >"$WORK/mesh-sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$MESH_PORT") 2>/dev/null; then break; fi
  sleep 0.2
done
MESH_ENV=(-e LINKWORK_MESH_URL="http://127.0.0.1:$MESH_PORT" -e LINKWORK_MESH_PASSWORD=password
  -e LINKWORK_MESH_SHARED_KEY=walk-shared-key -e LINKWORK_MESH_SYNC_SECONDS=0)

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
  -e LINKWORK_DB_PASSPHRASE="$PASSPHRASE" "${MESH_ENV[@]}" -e LINKWORK_MESH_MAILBOX=X26ABC1 \
  "bash --norc --noprofile"
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
# Keys (once per site): ours, and each side trusts the other's public key with its MESH
# mailbox (the hub's database, in HUB_HOME, is made here too).
shell "$LW keys new practice >/dev/null && LINKWORK_HOME=$HUB_HOME $LW keys new hub >/dev/null && $LW keys trust $HUB_HOME/keys_dir/hub.public.jwk --name 'Wellbeing Hub' --mesh-mailbox X26ABC2 --ods X26HB1 >/dev/null && LINKWORK_HOME=$HUB_HOME LINKWORK_USER=hub.worker $LW keys trust $LINKWORK_HOME/keys_dir/practice.public.jwk --name Practice --mesh-mailbox X26ABC1 >/dev/null"

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
# Each field's text on screen before Tab, and a second for the focus to move: on a loaded
# machine, text typed straight after Tab has landed in the field before (two runs of three).
field() { typ "$1"; wait_for "$1" 10; key Tab; sleep 1; }
field "Robin"; field "Ashworth"; field "03/07/1961"; typ "943 476 5918"
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
key Enter; wait_for "Recorded Z59.4 Lack of adequate food"; snap code-recorded  # one Enter records it

# 5. Find a service by a lay phrase with a typo; the detail pane.
key F4; wait_for "Directory ready"; typ "homeles shelter"; wait_for "services. Up/Down"
wait_for "Last verified"; snap find-a-service
# Near the person's postcode: a half-typed one gives a quiet hint, a full one distances.
key Tab Tab; typ "ZZ1"; sleep 0.5; snap find-near-half-typed
typ " 1AA"; wait_for " mi"; key C-o; sleep 1; snap find-near-nearest-first
key C-f; sleep 0.5

# 6. Refer: consent cannot be skipped; only the need the service was found for (housing)
#    starts ticked, [x] / [ ]; the review lists what the hub will receive; sent by MESH.
key C-r; wait_for "1 Consent"; key C-n; sleep 0.5; snap refer-consent-required
key space; key C-n; wait_for "Ticked 1 of 2"; snap refer-needs-minimum
key Tab Tab; typ "Sofa surfing since March, needs somewhere safe"; wait_for "needs somewhere safe"; key Enter
wait_for "Wellbeing Hub will receive"; snap refer-review
key C-s; wait_for "SHARED" 30; sleep 0.5; snap referral-on-timeline-shared

# 7. Referrals board: the short id, and SENT (by MESH) with the time; the status line.
key F5; wait_for "REQUESTED"; wait_for "SENT "; snap referrals-board-sent

# 8. The hub, in its own app (second tmux window): F9 syncs, the referral is RECEIVED;
#    Enter opens it (who sent it, the needs shared, contact details as consent allows);
#    A accepts; U in progress; U completed with the outcome. Each reply goes by MESH.
tmux new-window -t "$S" -e LINKWORK_HOME="$HUB_HOME" -e LINKWORK_CONFIG="$LINKWORK_CONFIG" \
  -e LINKWORK_USER=hub.worker -e LINKWORK_DB_PASSPHRASE="$PASSPHRASE" "${MESH_ENV[@]}" \
  -e LINKWORK_MESH_MAILBOX=X26ABC2 "bash --norc --noprofile"
HUBW="$S:1"
tmux send-keys -t "$HUBW" -l "export PS1='$ '; cd $(tmux display-message -p -t "$S:0" '#{pane_current_path}')"
tmux send-keys -t "$HUBW" Enter; sleep 0.5
tmux select-window -t "$HUBW"
S0=$S; S=$HUBW  # key/typ/wait_for/snap now act on the hub's window
tmux send-keys -t "$S" -l "$LW"; tmux send-keys -t "$S" Enter
wait_for "passphrase" 120; typ "$PASSPHRASE"; key Enter
wait_for "MESH: not synced yet" 120; sleep 0.5
key F5; wait_for "No referrals yet"; key F9; wait_for "MESH: last synced" 60; wait_for "RECEIVED"
sleep 0.5; snap hub-synced-received
key Enter; wait_for "Needs shared"; snap hub-opens-received-referral
key a; wait_for "Status:    ACCEPTED"; snap hub-accepted
key u; wait_for "New status"; key Enter Down Enter; key C-s; wait_for "Status:    IN-PROGRESS"
key u; wait_for "New status"; key Enter Down Down Enter; key C-s; wait_for "Life satisfaction"
typ "7"; key Tab; typ "8"; key Tab; typ "8"; key Tab; typ "3"; key Tab space Tab
typ "Housed in supported accommodation"; sleep 0.3; snap hub-outcome-form
key C-s; wait_for "Status:    COMPLETED"; snap hub-completed
key Escape; wait_for "COMPLETED"; snap hub-board-replies-sent
S=$S0; tmux select-window -t "$S:0"

# The practice syncs (F9): COMPLETED with the outcome, and its own message DELIVERED.
key F9; wait_for "MESH: last synced" 60; wait_for "COMPLETED" 30; wait_for "DELIVERED" 30
sleep 0.5; snap practice-synced-completed

# Keys and partners: our fingerprint in hex groups, each partner's route.
key C-p; typ "Keys and partners"; key Enter; wait_for "Fingerprint:"; snap keys-and-partners
key Escape; sleep 0.5

# 9. The person's timeline; home; counts for the data lead; light theme.
key F2; wait_for "COMPLETED"; snap person-timeline-completed
key F1; sleep 1; snap home-after
key F6; sleep 2; snap counts
key C-t; sleep 1; snap counts-light-theme
key C-q; sleep 1
echo "Walkthrough done: $n screens in $OUT"
