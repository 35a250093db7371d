# order.jq: the order aggregate of the saga example, as a fold handler.
#
#   fold-exec --handler order='jq --unbuffered -c -f order.jq'
#
# Commands and events are adjacently tagged, {"type":…,"data":…}:
#   Place {sku, qty}  → Placed {sku, qty}
#   Confirm           → Confirmed
#   Cancel {reason}   → Cancelled {reason}
# State is {"status":"new"|"placed"|"confirmed"|"cancelled", sku, qty,
# reason}; fold sends null until a first state exists, which means new.

def initial: {status: "new"};

# evolve: the state after one event; unknown events leave it as it is.
def evolve($e):
  if $e.type == "Placed" then {status: "placed", sku: $e.data.sku, qty: $e.data.qty}
  elif $e.type == "Confirmed" then .status = "confirmed"
  elif $e.type == "Cancelled" then .status = "cancelled" | .reason = $e.data.reason
  else . end;

def whole_positive: type == "number" and . >= 1 and floor == .;

# decide: the events a command causes, or a string saying why it is refused.
def decide($c):
  ($c.type // "") as $t
  | ($c.data // {}) as $d
  | if $t == "Place" then
      if .status != "new" then "order is already \(.status)"
      elif ($d.sku | type) != "string" or $d.sku == "" then "Place needs a sku"
      elif ($d.qty | whole_positive | not) then "Place needs a whole qty of at least 1"
      else [{type: "Placed", data: {sku: $d.sku, qty: $d.qty}}] end
    elif $t == "Confirm" then
      if .status != "placed" then "cannot confirm an order that is \(.status)"
      else [{type: "Confirmed", data: null}] end
    elif $t == "Cancel" then
      if .status != "placed" then "cannot cancel an order that is \(.status)"
      else [{type: "Cancelled", data: {reason: ($d.reason // "cancelled")}}] end
    else "unknown command \"\($t)\"" end;

def state: .state // initial;

if .op == "handle" then
  .command as $c
  | state as $s
  | ($s | decide($c)) as $out
  | if ($out | type) == "string" then {error: $out}
    else {events: $out, state: (reduce $out[] as $e ($s; evolve($e)))} end
elif .op == "apply" then
  {state: (reduce (.events // [])[] as $e (state; evolve($e)))}
else {error: "unknown op \"\(.op // "")\""} end
